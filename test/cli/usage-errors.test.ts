// Usage errors in our words: the closest option for a typo, which option lacks its value.
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { closestOption, editDistance, usageMessage } from '../../src/cli/usage-errors.ts';

const known = ['window', 'stages', 'name', 'build', 'devices', 'devices-file', 'four-eyes', 'json', 'help'];

/** What parseArgs throws for `args`, in our words. */
function message(args: string[]): string {
  try {
    parseArgs({ args, options: { window: { type: 'string' }, json: { type: 'boolean', short: 'j' }, devices: { type: 'string' } }, strict: true });
  } catch (err) {
    return usageMessage(err as Error & { code?: unknown }, known);
  }
  return 'parsed';
}

describe('usage errors', () => {
  it.each([
    [['--windw', 'x'], 'unknown option --windw; did you mean --window?'],
    [['--devcies', 'a'], 'unknown option --devcies; did you mean --devices?'],
    [['--jsno'], 'unknown option --jsno; did you mean --json?'],
    [['--colour'], 'unknown option --colour (--help lists the options)'],
    [['-x'], 'unknown option -x (--help lists the options)'],
    [['--window'], '--window needs a value'],
    [['--json=yes'], '-j, --json takes no value'],
    [['stray'], 'unexpected argument stray'],
  ])('%j -> %s', (args, want) => {
    expect(message(args)).toBe(want);
  });

  it('does not suggest what is far from the typo, nor for a very short one', () => {
    expect(closestOption('--zzzzzz', known)).toBeUndefined();
    expect(closestOption('--x', known)).toBeUndefined();
    // A prefix of one option is taken as that option.
    expect(closestOption('--four', known)).toBe('four-eyes');
  });

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('windwo', 'window')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('keeps a hostile, long option name cheap and on one line', () => {
    const long = `--${'a'.repeat(5000)}`;
    const text = message([long]);
    expect(text.startsWith('unknown option --aaa')).toBe(true);
    expect(text).not.toContain('\n');
  });
});
