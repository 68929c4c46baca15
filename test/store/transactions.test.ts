// Transactions take `tx` all the way down (CONVENTIONS 12). The check over src/ finds no
// database use that escapes a transaction, and it catches each kind of escape in a
// fixture. (That raw SQL given a tx runs inside its transaction: test/store/sqlite.test.ts.)
// The write-count rule (src/store/README.md) is checked here too: no function in src/ writes
// the tables of a write-count topic without `countWrite`, and the check catches each kind
// of uncounted write in its fixture. In this file so that both checks use one program of
// src/: building it takes a minute on a loaded machine.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTransactions, formatFinding, srcProgram } from '../support/transaction-check.ts';
import { checkWriteCounts, TOPIC_TABLES } from '../support/write-count-check.ts';

const TSCONFIG = resolve('tsconfig.json');
const FIXTURE = resolve('test/fixtures/transactions/violations.ts');
const WRITES_FIXTURE = resolve('test/fixtures/write-counts/violations.ts');

describe('transactions', () => {
  it('no function passed to .transaction( in src/ uses the database or hands a Context along', () => {
    const { program, files } = srcProgram();
    const findings = checkTransactions(files, TSCONFIG, program);
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it('the check reports, by file and line, every escape in the fixture and nothing else', () => {
    const marked = readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.trimEnd().endsWith('// violation') ? [i + 1] : []));
    expect(marked.length).toBeGreaterThan(5);
    const findings = checkTransactions([FIXTURE], TSCONFIG);
    expect(findings.map((f) => f.file)).toEqual(marked.map(() => relative(process.cwd(), FIXTURE)));
    expect(findings.map((f) => f.line)).toEqual(marked);
    expect(findings.map(formatFinding)).toContain(`${relative(process.cwd(), FIXTURE)}:${marked[0]}: \`ctx.db\` is used inside a transaction callback; use its tx`);
    expect(findings.some((f) => f.message.startsWith('`readsWithContext` is passed a Context'))).toBe(true);
  });
});

describe('write counts', () => {
  it('every function in src/ that writes deployments, SCOMO rows, profile applications or DM operations counts the write', () => {
    const { program, files } = srcProgram();
    expect(checkWriteCounts(files, TSCONFIG, program).map(formatFinding)).toEqual([]);
  });

  it('the check reports, by file and line, every uncounted write in the fixture and nothing else', () => {
    const source = readFileSync(WRITES_FIXTURE, 'utf8');
    const marked = source.split('\n').flatMap((line, i) => (line.trimEnd().endsWith('// violation') ? [i + 1] : []));
    const findings = checkWriteCounts([WRITES_FIXTURE], TSCONFIG);
    expect(findings.map((f) => f.file)).toEqual(marked.map(() => relative(process.cwd(), WRITES_FIXTURE)));
    expect(findings.map((f) => f.line)).toEqual(marked);
    expect(findings.map(formatFinding)).toContain(`${relative(process.cwd(), WRITES_FIXTURE)}:${marked[0]}: writes deployments without countWrite(tx, 'deployments') in this function, a counting helper it calls, or every function that uses it (src/store/README.md)`);
    // Each table of each topic is caught at least once.
    const caught = new Set(findings.map((f) => /^writes (\w+)/.exec(f.message)?.[1]));
    expect([...caught].sort()).toEqual(Object.values(TOPIC_TABLES).flat().sort());
  });
});
