// A write the database refused because a unique key (a primary key, a unique index) already
// holds the value: what a select-then-insert that lost a race to another request or another
// server process meets. Recognised on both dialects, through drizzle's wrapping of the
// driver's error (its `cause`), so callers turn it into a 409 instead of a 500.

/** Whether `err`, or an error it was caused by, is a unique-key violation. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    // better-sqlite3: SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY; node-postgres: SQLSTATE 23505.
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') return true;
  }
  return false;
}
