// Transactions take `tx` all the way down (CONVENTIONS 12). The check over src/ finds no
// database use that escapes a transaction, it catches each kind of escape in a fixture,
// and the raw-SQL queries the campaigns need do run inside the transaction they are given.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.ts';
import { recordAudit } from '../../src/store/queries/audit.ts';
import { preparedSql, sqliteOf } from '../../src/store/queries/prepared.ts';
import { tempDir } from '../support/harness.ts';
import { checkTransactions, formatFinding } from '../support/transaction-check.ts';

const TSCONFIG = resolve('tsconfig.json');
const FIXTURE = resolve('test/fixtures/transactions/violations.ts');

function sourcesOf(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts')).map((f) => join(dir, f));
}

describe('transactions', () => {
  it('no function passed to .transaction( in src/ uses the database or hands a Context along', () => {
    const findings = checkTransactions(sourcesOf(resolve('src')), TSCONFIG);
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

  it('raw SQL given a tx runs inside that transaction: it sees its writes and rolls back with it', () => {
    const db = openDatabase(join(tempDir(), 'data'));
    const count = (tx: Parameters<typeof preparedSql>[0]) => preparedSql(tx, 'SELECT count(*) FROM audit_events').pluck().get() as number;
    expect(() =>
      db.transaction((tx) => {
        expect(sqliteOf(tx)).toBe(db.$client);
        recordAudit(tx, { actor: 'test', action: 'test', subject: 'test' }, 0);
        expect(count(tx)).toBe(1);
        throw new Error('roll back');
      }),
    ).toThrow('roll back');
    expect(count(db)).toBe(0);
    db.$client.close();
  });
});
