// Shares read the same in the console, the CLI and the demo.
import { describe, expect, it } from 'vitest';
import { percent } from '../src/format.ts';

describe('percent', () => {
  it.each([
    [0.95, '95%'],
    [0.999, '99.9%'],
    [1, '100%'],
    [0, '0%'],
    [0.0037, '0.37%'],
    [0.07123, '7.1%'],
    [0.12345, '12.3%'],
  ])('writes %f as %s', (share, text) => {
    expect(percent(share)).toBe(text);
  });
});
