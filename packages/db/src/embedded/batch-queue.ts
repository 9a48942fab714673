import type { PGlite } from '@electric-sql/pglite';

interface Batch {
  clientId: number;
  bytes: Uint8Array;
  /** The batch ended at a Flush: the client will continue the same extended-query cycle. */
  continues: boolean;
  onData: (data: Uint8Array) => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the protocol batches of many client connections on PGlite's single backend, one whole batch (up to
 * a Sync, Flush or simple Query) at a time, so that one client's Parse/Bind/Execute never interleaves with
 * another's. While a client's transaction or extended-query cycle is open, only that client's batches run.
 */
export class BatchQueue {
  readonly #db: PGlite;
  readonly #pending: Batch[] = [];
  #running = false;
  #owner: number | null = null;

  constructor(db: PGlite) {
    this.#db = db;
  }

  run(
    clientId: number,
    bytes: Uint8Array,
    continues: boolean,
    onData: (data: Uint8Array) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ clientId, bytes, continues, onData, resolve, reject });
      void this.#drain();
    });
  }

  /** Drops a disconnected client's work and rolls back a transaction it left open. */
  async release(clientId: number): Promise<void> {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const batch = this.#pending[i];
      if (batch?.clientId === clientId) {
        this.#pending.splice(i, 1);
        batch.reject(new Error('client disconnected'));
      }
    }
    if (this.#owner === clientId) {
      if (this.#db.isInTransaction()) await this.#db.exec('ROLLBACK').catch(() => {});
      this.#owner = null;
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const index = this.#owner === null ? 0 : this.#pending.findIndex((b) => b.clientId === this.#owner);
        if (index === -1 || this.#pending.length === 0) return;
        const [batch] = this.#pending.splice(index, 1);
        if (!batch) return;
        try {
          await this.#db.runExclusive(() =>
            this.#db.execProtocolRawStream(batch.bytes, { onRawData: batch.onData }),
          );
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        }
        // Keep the backend for this client inside a transaction, and between a Flush and its Sync (a client
        // that asked for parameter types before binding): another client's statement would replace the
        // unnamed prepared statement it is about to bind.
        this.#owner = batch.continues || this.#db.isInTransaction() ? batch.clientId : null;
      }
    } finally {
      this.#running = false;
    }
  }
}
