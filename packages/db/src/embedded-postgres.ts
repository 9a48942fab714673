import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgres:// URL any process can connect to. Use it with `prepare: false`. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (Postgres in WASM, with pgvector) served over the Postgres wire protocol on loopback, for the
 * local stack and tests when no Postgres server is configured. Several processes connect to it as to a
 * server; the socket server runs one statement at a time and keeps each transaction on its connection.
 * It is a development convenience, not a production database.
 */
export async function startEmbeddedPostgres(options: {
  /** Directory for the data files; in memory when omitted. */
  dataDir?: string;
  port?: number;
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    extensions: { vector },
  });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 64,
  });
  await server.start();
  const address = server.getServerConn();
  const port = Number(address.split(':').at(-1));
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
