// The PostgreSQL twin of drizzle.config.ts: `npx drizzle-kit generate --config drizzle.pg.config.ts`
// writes the PostgreSQL migrations from src/store/schema-pg, as the default config does
// for SQLite. Both schemas change together (test/store/schemas.test.ts).
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema-pg/index.ts',
  out: './src/store/migrations-pg',
});
