import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, isConnectionLost } from './client.ts';
import { createTestDatabase, type TestDatabase } from './testing/test-database.ts';
import { reserveConnection, transaction } from './transaction.ts';

/** A pool of one connection: a transaction that left its connection reserved or aborted blocks the next. */
describe('transaction (real Postgres, a pool of one connection)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ maxConnections: 1 });
    await db.handle.sql`create table items (id int primary key)`;
  });
  afterAll(async () => {
    await db?.drop();
  });

  const ids = async () =>
    (await db.handle.sql<{ id: number }[]>`select id from items order by id`).map((r) => r.id);

  it('commits what the callback wrote and returns its result', async () => {
    const result = await transaction(db.handle.sql, async (tx) => {
      await tx`insert into items (id) values (1)`;
      return 'done';
    });
    expect(result).toBe('done');
    expect(await ids()).toEqual([1]);
  });

  it('rolls back when the callback throws, and gives the connection back', async () => {
    await expect(
      transaction(db.handle.sql, async (tx) => {
        await tx`insert into items (id) values (2)`;
        await tx`insert into items (id) values (1)`;
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await ids()).toEqual([1]);
  });

  it('survives its backend being terminated mid-statement: the loss is thrown, the process stays up, the pool reconnects', async () => {
    const killer = db.handle.session();
    const outcome = transaction(db.handle.sql, async (tx) => {
      await tx`insert into items (id) values (3)`;
      const [{ pid }] = (await tx`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      const kill = killer`select pg_terminate_backend(${pid})`;
      await Promise.all([tx`select pg_sleep(5)`, kill]);
    });
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isConnectionLost(error)).toBe(true);
    // postgres.js fails the first query on the reconnected connection with the lost one's error (57P01).
    let rows: number[] | undefined;
    for (let i = 0; i < 3 && rows === undefined; i++) rows = await ids().catch(() => undefined);
    expect(rows).toEqual([1]);
    await transaction(db.handle.sql, async (tx) => tx`insert into items (id) values (4)`);
    expect(await ids()).toEqual([1, 4]);
  });

  it('gives up on a reserve request postgres.js drops when the busy connection closes, and the pool recovers', async () => {
    // A pool of one connection of its own: reserved, so the next reserve waits; then its backend goes.
    const pool = createDatabase({ url: db.url, maxConnections: 1 });
    try {
      const first = await reserveConnection(pool.sql);
      const [{ pid }] = (await first`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      const waiting = reserveConnection(pool.sql, 500).then(
        () => 'reserved',
        (error: { code?: string }) => error.code,
      );
      await db.handle.sql`select pg_terminate_backend(${pid})`;
      // postgres.js hands the waiting request to the reconnection, which never serves it: without a bound
      // the caller would wait forever.
      expect(await waiting).toBe('CONNECT_TIMEOUT');
      let rows: unknown;
      for (let i = 0; i < 3 && rows === undefined; i++)
        rows = await pool.sql`select 1 as one`.catch(() => undefined);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.close();
    }
  });
});
