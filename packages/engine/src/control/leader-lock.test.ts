import { createDatabase } from '@flowtrace/db';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderLock } from './leader-lock.ts';

describe('LeaderLock (real Postgres)', () => {
  let db: TestDatabase;
  // A second process's database handle: its own session.
  let other: ReturnType<typeof createDatabase>;

  beforeAll(async () => {
    db = await createTestDatabase();
    other = createDatabase({ url: db.url, maxConnections: 1 });
  });
  afterAll(async () => {
    await other?.close();
    await db?.drop();
  });

  it('lets one session lead at a time, and the other once the leader is done', async () => {
    const mine = new LeaderLock(db.handle.session(), 'leader-lock-test-a');
    const theirs = new LeaderLock(other.session(), 'leader-lock-test-a');
    const outcome = await mine.withLeadership(async () => {
      const inside = await theirs.withLeadership(async () => 'theirs');
      return inside;
    });
    expect(outcome).toEqual({ led: true, result: { led: false } });
    expect(await theirs.withLeadership(async () => 'theirs')).toEqual({ led: true, result: 'theirs' });
  });

  it("survives its session's backend being terminated while it leads, and leads again", async () => {
    const session = db.handle.session();
    const lock = new LeaderLock(session, 'leader-lock-test-b');
    const outcome = await lock.withLeadership(async () => {
      const [{ pid }] = (await session`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
      await db.handle.sql`select pg_terminate_backend(${pid})`;
      // The backend is gone while the lock's connection is idle: the lock went with it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const rival = new LeaderLock(other.session(), 'leader-lock-test-b');
      return rival.withLeadership(async () => 'rival');
    });
    expect(outcome).toEqual({ led: true, result: { led: true, result: 'rival' } });
    expect(await lock.withLeadership(async () => 'again')).toEqual({ led: true, result: 'again' });
  });
});
