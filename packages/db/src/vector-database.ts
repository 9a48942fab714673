import { createDatabase, type DatabaseHandle } from './client.ts';

export interface VectorDatabaseOptions {
  databaseUrl: string;
  vectorUrl?: string | undefined;
  maxConnections: number;
  prepare: boolean;
  applicationName: string;
  /** The main database's pool, reused when the vector store lives in the same database. */
  main: DatabaseHandle;
}

/**
 * The pool on the vector store: the main pool when both are one database, else its own. Resolves to
 * undefined when the vector tables are missing (no pgvector, or `npm run db:migrate` not run there).
 */
export async function openVectorDatabase(
  options: VectorDatabaseOptions,
): Promise<DatabaseHandle | undefined> {
  const separate = options.vectorUrl !== undefined && options.vectorUrl !== options.databaseUrl;
  const handle = separate
    ? createDatabase({
        url: options.vectorUrl as string,
        maxConnections: options.maxConnections,
        prepare: options.prepare,
        applicationName: options.applicationName,
      })
    : options.main;
  const [table] = await handle.sql`select to_regclass('public.rag_collections') as name`;
  if (table?.name) return handle;
  if (separate) await handle.close();
  return undefined;
}
