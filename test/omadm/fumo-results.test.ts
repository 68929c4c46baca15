// The FUMO result vocabulary every part speaks (package checks, agent, deployments, console, CLI).
import { describe, expect, it } from 'vitest';
import { describeFumoResult, FumoResult, fumoMeaning, isFumoSuccess, TRANSIENT_FUMO_RESULTS } from '../../src/omadm/fumo-results.ts';
import { resultText } from '../../src/web/format.ts';

describe('FUMO result codes', () => {
  it.each([
    [200, 'successful'],
    [402, 'corrupted firmware update package'],
    [403, 'firmware update package does not match the device'],
    [404, 'signature validation failed'],
    [410, 'firmware update failed'],
    [412, 'download server unavailable'],
    [503, 'download failed: network error'],
    [260, 'successful (vendor code)'],
    [470, 'client error (vendor code)'],
    [560, 'download server error (vendor code)'],
    [999, 'unknown result code'],
  ])('%i means "%s"', (code, meaning) => {
    expect(fumoMeaning(code)).toBe(meaning);
    expect(describeFumoResult(code)).toBe(`${code} ${meaning}`);
  });

  it('name every code of the FUMO 1.0 table', () => {
    for (const code of Object.values(FumoResult)) expect(fumoMeaning(code)).not.toMatch(/unknown|vendor/);
  });

  it('count 200-299 as success, and only the download timeout, server unavailable and network failure as worth a retry', () => {
    expect([200, 250, 299, 300, 199].map(isFumoSuccess)).toEqual([true, true, true, false, false]);
    expect([...TRANSIENT_FUMO_RESULTS].sort()).toEqual([407, 412, 503]);
  });

  it('read the same in the console, which adds the engine\'s own "timeout"', () => {
    expect(resultText(402)).toBe(fumoMeaning(402));
    expect(resultText('503')).toBe(fumoMeaning(503));
    expect(resultText('timeout')).toBe('no news from the device before the timeout');
    expect(resultText('x')).toBe('unknown result code');
  });
});
