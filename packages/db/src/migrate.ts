import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { type MigrationSet, migrationsFolder } from './migrations-folder.ts';

/**
 * Applies a migration set. Core and vector migrations keep separate journals, so the vector store may live
 * in the same database (the default) or in another one with pgvector (`VECTOR_DATABASE_URL`).
 */
export async function migrateDatabase(url: string, set: MigrationSet = 'core'): Promise<void> {
  // No named prepared statements, so this also works through PgBouncer and the embedded PGlite server.
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    // One migrator at a time per database, so that several processes starting together do not race.
    await sql`select pg_advisory_lock(hashtext(${`flowtrace-migrate-${set}`}))`;
    await migrate(drizzle(sql), {
      migrationsFolder: migrationsFolder(set),
      migrationsTable: set === 'core' ? '__drizzle_migrations' : '__drizzle_migrations_vector',
      migrationsSchema: 'drizzle',
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
