// Transactions take `tx` all the way down (CONVENTIONS 12). The check over src/ finds no
// database use that escapes a transaction, and it catches each kind of escape in a
// fixture. (That raw SQL given a tx runs inside its transaction: test/store/sqlite.test.ts.)
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTransactions, formatFinding, srcProgram } from '../support/transaction-check.ts';

const TSCONFIG = resolve('tsconfig.json');
const FIXTURE = resolve('test/fixtures/transactions/violations.ts');

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
