import { isConnectionLost, reserveConnection, type Sql } from '@flowtrace/db';
import { recordSpanError, semconv } from '@flowtrace/telemetry';
import { type Context, context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';

export interface WriteBatcherOptions {
  /** Most writes committed together; 1 turns batching off. */
  maxBatch: number;
  /** Batches being written at once; writes that arrive meanwhile wait for the next one. */
  maxInFlight: number;
}

/** Batching off: every write is its own statement, committed on its own. */
export const NO_BATCHING: WriteBatcherOptions = { maxBatch: 1, maxInFlight: Number.POSITIVE_INFINITY };

interface PendingWrite {
  /** Orders the writes of a batch: the run (or tenant) whose rows the write locks first. */
  key: string;
  write: (sql: Sql) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** The caller's context: its span is linked to the batch's, the first one's is the batch's parent. */
  context: Context;
}

/**
 * Group commit for one kind of engine write (claims, outcomes, new runs) in one process: writes that arrive
 * while earlier ones are being committed are collected and written together in one transaction, their
 * statements pipelined on one connection, so that many writes cost one round trip and one commit (one WAL
 * flush) instead of one each. At light load nothing waits: a write that finds no batch in flight is sent at
 * once (on its own, as one autocommitted statement); batches form only while the database is busy, and
 * cost two round trips (the writes pipelined behind `BEGIN`, then `COMMIT`).
 *
 * Each write keeps its own result, its own error and its caller's span; a batch of more than one write
 * gets a `BATCH <operation>` CLIENT span (a child of the first write's span), linked from and to every
 * write's span. A write's promise settles only once its batch has committed, so "committed before the
 * successors are enqueued" holds per write.
 *
 * Locks: a write must lock its key's rows first (the run's row, as every writer of a run does); the
 * writes of a batch are sent in ascending key order, so two batches never wait on each other in a cycle.
 * When a batch fails (one write was refused, a deadlock, a lost connection), it is rolled back and each of
 * its writes is made again on its own, so that one write's error is its own and never another's.
 */
export class WriteBatcher {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #operation: string;
  readonly #options: WriteBatcherOptions;
  readonly #pending: PendingWrite[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(deps: { sql: Sql; tracer: Tracer }, operation: string, options: WriteBatcherOptions) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer;
    this.#operation = operation;
    this.#options = {
      maxBatch: Math.max(1, Math.floor(options.maxBatch)),
      maxInFlight: Math.max(1, options.maxInFlight),
    };
  }

  /** Makes `write` (one statement, or several that lock `key`'s rows first) in the next batch. */
  write<T>(key: string, write: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.#options.maxBatch === 1) return write(this.#sql);
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        key,
        write,
        resolve: resolve as (value: unknown) => void,
        reject,
        context: context.active(),
      });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#pending.length === 0 || this.#inFlight >= this.#options.maxInFlight) return;
    this.#scheduled = true;
    // After the current I/O callbacks: the writes of jobs that resumed in the same turn go together.
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#pending.length > 0 && this.#inFlight < this.#options.maxInFlight) {
        const batch = this.#pending.splice(0, this.#options.maxBatch);
        this.#inFlight += 1;
        void this.#flush(batch).finally(() => {
          this.#inFlight -= 1;
          this.#schedule();
        });
      }
    });
  }

  async #flush(batch: PendingWrite[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [PendingWrite];
      await context.with(only.context, () => only.write(this.#sql)).then(only.resolve, only.reject);
      return;
    }
    batch.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const span = this.#batchSpan(batch);
    let results: PromiseSettledResult<unknown>[] | undefined;
    try {
      results = await context.with(trace.setSpan(context.active(), span), () => this.#transaction(batch));
    } catch (error) {
      recordSpanError(span, error);
      span.end();
      // Nothing of the batch committed: every write is made again on its own, with its own outcome.
      await Promise.all(
        batch.map((w) => context.with(w.context, () => w.write(this.#sql)).then(w.resolve, w.reject)),
      );
      return;
    }
    span.end();
    batch.forEach((w, i) => {
      const result = results?.[i];
      if (result?.status === 'fulfilled') w.resolve(result.value);
      else w.reject(result?.reason ?? new Error('batched write has no result'));
    });
  }

  /**
   * The batch's writes in one transaction on one connection: `BEGIN` and every write's statements are sent
   * without waiting in between (postgres.js pipelines them), then `COMMIT` once all have answered: two
   * round trips whatever the batch's size. Throws (after a rollback) when any write failed.
   *
   * A lost connection (Postgres restarting, a terminated backend) throws at its first sign: the statements
   * postgres.js still held back for it are neither sent nor settled. Nothing more is sent on it, and it is
   * not released: postgres.js has already put it back in its pool to reconnect, and a rollback or a release
   * would write to its dead socket, an uncaught exception that ends the process (porsager/postgres#1208).
   * The reservation itself is bounded (`reserveConnection`): postgres.js can drop a waiting one.
   */
  async #transaction(batch: readonly PendingWrite[]): Promise<PromiseSettledResult<unknown>[]> {
    const connection = await reserveConnection(this.#sql);
    let lost: { error: unknown } | undefined;
    const watch = <T>(statement: Promise<T>): Promise<T> =>
      statement.catch((error: unknown) => {
        if (isConnectionLost(error)) lost ??= { error };
        throw error;
      });
    try {
      // Sent now, ahead of the writes' statements (postgres.js queries are otherwise sent when awaited).
      const statements = [
        watch(connection`begin`.execute()),
        ...batch.map((w) => watch(w.write(connection as unknown as Sql))),
      ];
      const connectionLost = new Promise<undefined>((resolve) => {
        for (const statement of statements) statement.catch(() => lost && resolve(undefined));
      });
      const settled = await Promise.race([Promise.allSettled(statements), connectionLost]);
      if (lost) throw lost.error;
      const [opened, ...results] = settled as PromiseSettledResult<unknown>[];
      const failed = [opened, ...results].find((r) => r?.status === 'rejected');
      if (failed) {
        await connection`rollback`.catch(() => {});
        throw (failed as PromiseRejectedResult).reason;
      }
      await watch(connection`commit`.execute());
      return results;
    } finally {
      if (!lost) connection.release();
    }
  }

  /** The batch's span: a child of the first write's span, linked to and from every write's span. */
  #batchSpan(batch: readonly PendingWrite[]): Span {
    const callers = batch
      .map((w) => trace.getSpan(w.context))
      .filter((s): s is Span => s?.isRecording() === true);
    const span = this.#tracer.startSpan(
      `BATCH ${this.#operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [semconv.ATTR_DB_SYSTEM_NAME]: semconv.DB_SYSTEM_NAME_VALUE_POSTGRESQL,
          [semconv.ATTR_DB_OPERATION_NAME]: 'BATCH',
          [semconv.ATTR_DB_QUERY_SUMMARY]: `BATCH ${this.#operation}`,
          [semconv.ATTR_DB_OPERATION_BATCH_SIZE]: batch.length,
        },
        links: callers.slice(1).map((s) => ({ context: s.spanContext() })),
      },
      batch[0]?.context ?? context.active(),
    );
    if (span.isRecording()) {
      const link = { context: span.spanContext() };
      for (const caller of callers.slice(1)) caller.addLink(link);
    }
    return span;
  }
}
