import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { semconv } from '@flowtrace/telemetry';
import { type InMemoryTracing, startInMemoryTracing } from '@flowtrace/telemetry/testing';
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withDbSpan } from '../tracing/db-span.ts';
import { retryTransient } from './retry-transient.ts';
import { WriteBatcher } from './write-batcher.ts';

describe('WriteBatcher (real Postgres)', () => {
  let db: TestDatabase;
  let tracing: InMemoryTracing;

  beforeAll(async () => {
    tracing = startInMemoryTracing();
    db = await createTestDatabase({ maxConnections: 8 });
    await db.handle
      .sql`create table batched (id serial primary key, key text not null, n int not null, tx bigint not null)`;
  });
  afterAll(async () => {
    await db?.drop();
    await tracing?.shutdown();
  });
  beforeEach(async () => {
    tracing.reset();
    await db.handle.sql`truncate batched`;
  });

  const tracer = () => trace.getTracer('write-batcher-test');

  /** One insert per write, recording the transaction it ran in. */
  const insert = (key: string, n: number) => (sql: typeof db.handle.sql) =>
    sql`insert into batched (key, n, tx) values (${key}, ${n}, txid_current()) returning n, tx`.then(
      ([row]) => ({ n: row?.n as number, tx: String(row?.tx) }),
    );

  it('commits writes that arrive while a batch is in flight together, each with its own result', async () => {
    const batcher = new WriteBatcher({ sql: db.handle.sql, tracer: tracer() }, 'insert_batched', {
      maxBatch: 64,
      maxInFlight: 1,
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        batcher.write(`k${String(i).padStart(2, '0')}`, insert(`k${i}`, i)),
      ),
    );
    expect(results.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const transactions = new Set(results.map((r) => r.tx));
    expect(transactions.size).toBeLessThan(40);
    const [{ rows }] = (await db.handle.sql`select count(*)::int as rows from batched`) as unknown as [
      { rows: number },
    ];
    expect(rows).toBe(40);
  });

  it('writes each batch in ascending key order (the lock order)', async () => {
    const batcher = new WriteBatcher({ sql: db.handle.sql, tracer: tracer() }, 'insert_batched', {
      maxBatch: 64,
      maxInFlight: 1,
    });
    const keys = ['m', 'c', 'x', 'a', 'q', 'b'];
    await Promise.all(keys.map((key, i) => batcher.write(key, insert(key, i))));
    const rows = await db.handle.sql<
      { key: string; tx: string }[]
    >`select key, tx::text from batched order by id`;
    const byTx = new Map<string, string[]>();
    for (const row of rows) byTx.set(row.tx, [...(byTx.get(row.tx) ?? []), row.key]);
    for (const inOrder of byTx.values()) expect(inOrder).toEqual([...inOrder].sort());
    expect([...byTx.values()].some((k) => k.length > 1)).toBe(true);
  });

  it("keeps one write's error its own: the others of its batch still commit", async () => {
    const batcher = new WriteBatcher({ sql: db.handle.sql, tracer: tracer() }, 'insert_batched', {
      maxBatch: 64,
      maxInFlight: 1,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        batcher.write(`k${i}`, (sql) =>
          i === 5
            ? sql`insert into batched (key, n, tx) values ('bad', 1 / 0, txid_current())`.then(() => ({
                n: -1,
                tx: '',
              }))
            : insert(`k${i}`, i)(sql),
        ),
      ),
    );
    expect(outcomes[5]).toMatchObject({ status: 'rejected', reason: { code: '22012' } });
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(11);
    const rows = await db.handle.sql<{ n: number }[]>`select n from batched order by n`;
    expect(rows.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
  });

  it("gives a batch a span under its first write's span, linked to and from the others", async () => {
    const batcher = new WriteBatcher({ sql: db.handle.sql, tracer: tracer() }, 'insert_batched', {
      maxBatch: 64,
      maxInFlight: 1,
    });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        withDbSpan(tracer(), 'insert_batched', () => batcher.write(`k${i}`, insert(`k${i}`, i))),
      ),
    );
    const spans = tracing.spans();
    const writes = spans.filter((s) => s.name === 'insert_batched');
    const batches = spans.filter((s) => s.name === 'BATCH insert_batched');
    expect(writes).toHaveLength(6);
    expect(batches.length).toBeGreaterThan(0);
    for (const batch of batches) {
      expect(batch.kind).toBe(SpanKind.CLIENT);
      const size = batch.attributes[semconv.ATTR_DB_OPERATION_BATCH_SIZE] as number;
      expect(size).toBeGreaterThan(1);
      const parent = writes.find((w) => w.spanContext().spanId === batch.parentSpanContext?.spanId);
      expect(parent).toBeDefined();
      const linked = writes.filter((w) =>
        w.links.some((l) => l.context.spanId === batch.spanContext().spanId),
      );
      expect(linked).toHaveLength(size - 1);
      expect(batch.links.map((l) => l.context.spanId).sort()).toEqual(
        linked.map((w) => w.spanContext().spanId).sort(),
      );
    }
  });

  it('with maxBatch 1, writes each on its own', async () => {
    const batcher = new WriteBatcher({ sql: db.handle.sql, tracer: tracer() }, 'insert_batched', {
      maxBatch: 1,
      maxInFlight: 1,
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.write(`k${i}`, insert('k', i))),
    );
    expect(new Set(results.map((r) => r.tx)).size).toBe(10);
  });

  it('survives losing its connection mid-batch: each write is made again on its own, the pool keeps working', async () => {
    const batcher = new WriteBatcher({ sql: db.handle.sql, tracer: tracer() }, 'insert_batched', {
      maxBatch: 64,
      maxInFlight: 1,
    });
    // The write that sleeps marks the batch's connection, whose backend is terminated while it sleeps.
    const sleeper = (sql: typeof db.handle.sql) =>
      sql`select pg_sleep(0.4), 'flowtrace-batch-victim' as marker`.then(() => ({ n: -1, tx: '' }));
    const killer = db.handle.session();
    let terminated = 0;
    const kill = (async () => {
      const deadline = Date.now() + 10_000;
      while (terminated === 0 && Date.now() < deadline) {
        const rows = await killer`
          select pg_terminate_backend(pid) as done from pg_stat_activity
          where query like '%flowtrace-batch-victim%' and state = 'active' and pid <> pg_backend_pid()`;
        terminated = rows.filter((r) => r.done).length;
      }
    })();
    // Written in the same turn: one batch. As the engine's outcome writes do, each is retried on a transient
    // error: postgres.js fails the first query on the reconnected connection with the lost one's 57P01.
    const write = <T>(key: string, fn: (sql: typeof db.handle.sql) => Promise<T>) =>
      retryTransient(() => batcher.write(key, fn));
    const results = await Promise.all([
      write('a', insert('a', 0)),
      write('b', sleeper),
      ...Array.from({ length: 8 }, (_, i) => write(`c${i}`, insert(`c${i}`, i + 1))),
    ]);
    await kill;
    expect(terminated).toBe(1);
    expect(results.map((r) => r.n)).toEqual([0, -1, 1, 2, 3, 4, 5, 6, 7, 8]);
    const lost = tracing.spans().find((s) => s.name === 'BATCH insert_batched');
    expect(lost?.status.message).toMatch(/terminating connection|CONNECTION_CLOSED/);
    // The pool still works, in batches too.
    const again = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.write(`d${i}`, insert(`d${i}`, i))),
    );
    expect(again.map((r) => r.n)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const [count] = await db.handle.sql`select count(*)::int as n from batched`;
    expect(count?.n).toBe(19);
  });
});
