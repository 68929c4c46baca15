// No promise in src/ is dropped on the floor: with the store asynchronous, a query that is
// not awaited runs after its transaction (or, as a drizzle builder, never), and its error
// is lost. The check is test/support/floating-promise-check.ts; the fixture shows each kind.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFloatingPromises } from '../support/floating-promise-check.ts';
import { formatFinding, loadProgram, srcProgram } from '../support/transaction-check.ts';

const TSCONFIG = resolve('tsconfig.json');
const FIXTURE = resolve('test/fixtures/floating/violations.ts');

describe('floating promises', () => {
  it('no promise in src/ is left unawaited, unreturned and not void-ed', () => {
    const { program, files } = srcProgram();
    expect(checkFloatingPromises(program, files).map(formatFinding)).toEqual([]);
  });

  it('the check reports, by file and line, every floating promise in the fixture and nothing else', () => {
    const marked = readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .flatMap((line, i) => (/\/\/ violation$/.test(line.trimEnd()) ? [i + 1] : []));
    expect(marked.length).toBeGreaterThan(5);
    const findings = checkFloatingPromises(loadProgram([FIXTURE], TSCONFIG), [FIXTURE]);
    expect(findings.map((f) => `${f.file}:${f.line}`)).toEqual(marked.map((line) => `${relative(process.cwd(), FIXTURE)}:${line}`));
    expect(findings.map(formatFinding)).toContain(`${relative(process.cwd(), FIXTURE)}:${marked[0]}: \`work()\` is a promise nobody awaits: await it, return it, or \`void\` it with a comment why`);
  });
});
