import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PgliteWireServer } from './pglite-wire-server.ts';

export interface EmbeddedPostgres {
  /** A postgres:// URL any process can connect to. Use it with `prepare: false`. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (Postgres in WASM, with pgvector) served over the Postgres wire protocol on loopback, for the
 * local stack and tests when no Postgres server is configured. Several processes connect to it as to a
 * server; statements run one batch at a time and each transaction keeps the backend to itself. It is a
 * development convenience, not a production database.
 */
export async function startEmbeddedPostgres(options: {
  /** Directory for the data files; in memory when omitted. */
  dataDir?: string;
  port?: number;
}): Promise<EmbeddedPostgres> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    extensions: { vector },
  });
  const server = new PgliteWireServer(db);
  const port = await server.listen(options.port ?? 0, '127.0.0.1');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.close();
      await db.close();
    },
  };
}
