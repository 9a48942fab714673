import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { BatchQueue } from './batch-queue.ts';

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
/** Frontend messages that end a batch: Sync, simple Query, and Flush (the client waits for a reply). */
const BATCH_END = new Set(['S', 'Q', 'H']);

/**
 * Serves one PGlite instance over the Postgres wire protocol to many client connections (processes of the
 * local stack). Messages are grouped per connection into batches ending at Sync or Query, and batches run
 * one at a time with transaction affinity (see `BatchQueue`). Clients must not use named prepared
 * statements (postgres.js: `prepare: false`), since all of them share one backend session.
 *
 * Why not `PGLiteSocketServer` from `@electric-sql/pglite-socket` (0.2.17, for PGlite 0.5.14): it queues
 * each protocol message on its own and keeps the backend for one connection only inside an explicit
 * transaction, so the Parse/Bind/Execute messages of concurrent connections interleave on the shared
 * unnamed statement. Against it, every test in `embedded-postgres.test.ts` fails (two postgres.js pools:
 * "bind message supplies 0 parameters, but prepared statement "" requires 2", "portal does not exist"),
 * while the local stack runs five processes with a pool each. Batching up to Sync, simple Query or Flush
 * is what keeps them apart; the message framing around it is the ~100 lines below. The package would
 * also pull in PGlite extensions we do not use (age, pg_ivm, pgtap, …) as required peers.
 */
export class PgliteWireServer {
  readonly #db: PGlite;
  readonly #queue: BatchQueue;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #nextClientId = 1;

  constructor(db: PGlite) {
    this.#db = db;
    this.#queue = new BatchQueue(db);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const clientId = this.#nextClientId++;
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    let buffer: Buffer = Buffer.alloc(0);
    let started = false;
    let pending: Buffer[] = [];
    // Batches of one connection run in order.
    let chain = Promise.resolve();
    const write = (data: Uint8Array) => {
      if (data.length > 0 && socket.writable) socket.write(data);
    };
    const submit = (bytes: Buffer, continues: boolean) => {
      chain = chain
        .then(() => this.#queue.run(clientId, bytes, continues, write))
        .catch(() => {
          socket.destroy();
        });
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          const code = buffer.readInt32BE(4);
          if (buffer.length < length) return;
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            socket.write('N');
            continue;
          }
          if (code === CANCEL_REQUEST) {
            socket.end();
            return;
          }
          started = true;
          submit(Buffer.from(message), false);
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1) + 1;
        if (buffer.length < length) return;
        const type = String.fromCharCode(buffer[0] as number);
        pending.push(buffer.subarray(0, length));
        buffer = buffer.subarray(length);
        if (type === 'X') {
          socket.end();
          return;
        }
        if (BATCH_END.has(type)) {
          submit(Buffer.concat(pending), type === 'H');
          pending = [];
        }
      }
    });
    const release = () => {
      this.#sockets.delete(socket);
      void chain.finally(() => this.#queue.release(clientId));
    };
    socket.on('close', release);
    socket.on('error', () => socket.destroy());
  }

  get db(): PGlite {
    return this.#db;
  }
}
