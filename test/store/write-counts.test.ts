// The write-count rule (src/store/README.md) as a check: no function in src/ writes the
// tables of a write-count topic without `countWrite`, and the check catches each kind of
// uncounted write in a fixture.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFinding, srcProgram } from '../support/transaction-check.ts';
import { checkWriteCounts, TOPIC_TABLES } from '../support/write-count-check.ts';

const TSCONFIG = resolve('tsconfig.json');
const FIXTURE = resolve('test/fixtures/write-counts/violations.ts');

describe('write counts', () => {
  it('every function in src/ that writes deployments, SCOMO rows, profile applications or DM operations counts the write', () => {
    const { program, files } = srcProgram();
    expect(checkWriteCounts(files, TSCONFIG, program).map(formatFinding)).toEqual([]);
  });

  it('the check reports, by file and line, every uncounted write in the fixture and nothing else', () => {
    const source = readFileSync(FIXTURE, 'utf8');
    const marked = source.split('\n').flatMap((line, i) => (line.trimEnd().endsWith('// violation') ? [i + 1] : []));
    const findings = checkWriteCounts([FIXTURE], TSCONFIG);
    expect(findings.map((f) => f.file)).toEqual(marked.map(() => relative(process.cwd(), FIXTURE)));
    expect(findings.map((f) => f.line)).toEqual(marked);
    expect(findings.map(formatFinding)).toContain(`${relative(process.cwd(), FIXTURE)}:${marked[0]}: writes deployments without countWrite(tx, 'deployments') in this function, a function it calls, or every function that uses it (src/store/README.md)`);
    // Each table of each topic is caught at least once.
    const caught = new Set(findings.map((f) => /^writes (\w+)/.exec(f.message)?.[1]));
    expect([...caught].sort()).toEqual(Object.values(TOPIC_TABLES).flat().sort());
  });
});
