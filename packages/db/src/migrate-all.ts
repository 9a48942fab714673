import { ensureDatabase, hasPgvector } from './ensure-database.ts';
import { migrateDatabase } from './migrate.ts';

export interface MigrateAllResult {
  createdDatabase: boolean;
  /** False when the vector database has no pgvector: RAG stays unavailable until it does. */
  vector: boolean;
}

/**
 * Creates the database if needed and applies the core migrations, then the vector-store migrations where
 * pgvector is available (the vector store may be a separate database: `vectorUrl`).
 */
export async function migrateAll(urls: {
  databaseUrl: string;
  vectorUrl?: string;
}): Promise<MigrateAllResult> {
  const createdDatabase = await ensureDatabase(urls.databaseUrl);
  await migrateDatabase(urls.databaseUrl, 'core');
  const vectorUrl = urls.vectorUrl ?? urls.databaseUrl;
  if (vectorUrl !== urls.databaseUrl) await ensureDatabase(vectorUrl);
  if (!(await hasPgvector(vectorUrl))) return { createdDatabase, vector: false };
  await migrateDatabase(vectorUrl, 'vector');
  return { createdDatabase, vector: true };
}
