// The young generation held while `fota serve` loads (src/cli/young-generation.ts): held,
// V8's new space stays at its initial size however much survives; let go, it grows again
// (a busy server's collections must not stay as frequent as at start); a growth factor
// the user gave node is theirs. Each case runs in a fresh node process: this one's new
// space has grown long ago.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs `script` (an ES module, with `hold` imported) in a new node process; its JSON on stdout. */
function inNode(script: string, nodeArgs: string[] = []): { start: number; held: number; released: number } {
  const module = resolve('src/cli/young-generation.ts');
  const source = `
import v8 from 'node:v8';
import { holdYoungGeneration as hold } from ${JSON.stringify(module)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
// Allocation most of which survives a few collections, as loading modules is.
const kept = [];
const churn = () => { for (let i = 0; i < 400_000; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 100_000) kept.length = 0; } };
${script}`;
  const run = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', source], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as { start: number; held: number; released: number };
}

const HELD_THEN_RELEASED = `
const start = newSpace();
const letGrow = hold();
churn();
const held = newSpace();
letGrow();
churn();
console.log(JSON.stringify({ start, held, released: newSpace() }));`;

describe('holdYoungGeneration', () => {
  it('never lets the new space grow while held, and lets it grow once released', () => {
    const { start, held, released } = inNode(HELD_THEN_RELEASED);
    // Not larger: V8 may still shrink it meanwhile (little allocation), never grow it.
    expect(held).toBeLessThanOrEqual(start);
    expect(released).toBeGreaterThan(held);
  });

  it('without it the same work grows the new space (what the hold prevents)', () => {
    const { start, held } = inNode(`const start = newSpace(); churn(); console.log(JSON.stringify({ start, held: newSpace(), released: 0 }));`);
    expect(held).toBeGreaterThan(start);
  });

  it("leaves a growth factor given to node alone: the user's choice holds from start to end", () => {
    const { start, held } = inNode(HELD_THEN_RELEASED, ['--semi-space-growth-factor=4']);
    expect(held).toBeGreaterThan(start);
  });
});
