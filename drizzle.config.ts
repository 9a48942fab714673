import { defineConfig } from 'drizzle-kit';

/** Core tables (runs, nodes, correlated rows). Vector tables have their own config: drizzle.vector.config.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/db/src/schema/core.ts',
  out: './drizzle/core',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  migrations: { table: '__drizzle_migrations', schema: 'drizzle' },
});
