import { createDatabase, migrateDatabase, type Sql, startEmbeddedPostgres } from '@flowtrace/db';

export interface PgliteVectorServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** A postgres.js pool on it, with the rag tables created. */
  readonly sql: Sql;
  close(): Promise<void>;
}

/**
 * TEST HELPER: the embedded PGlite (WASM Postgres with pgvector) served over the Postgres wire protocol
 * on a random loopback port, in memory, with the vector migrations applied. postgres.js connects to it as to a
 * server, so the vector store's real SQL (casts, `<=>`, HNSW, transactions) runs. Startup takes a few
 * seconds: share one per test file.
 */
export async function startPgliteVectorServer(): Promise<PgliteVectorServer> {
  const embedded = await startEmbeddedPostgres({});
  // As the local stack does: no named prepared statements on the shared PGlite backend.
  const handle = createDatabase({ url: embedded.url, maxConnections: 4, prepare: false });
  try {
    // The real drizzle/vector migration, exactly as `npm run db:migrate` applies it.
    await migrateDatabase(embedded.url, 'vector');
  } catch (error) {
    await handle.close();
    await embedded.stop();
    throw error;
  }
  return {
    url: embedded.url,
    sql: handle.sql,
    async close() {
      await handle.close();
      await embedded.stop();
    },
  };
}
