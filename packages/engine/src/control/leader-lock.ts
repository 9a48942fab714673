import type { Sql } from '@flowtrace/db';

/**
 * One leader in the fleet at a time, for the reconciler's ticks: a session advisory lock, taken with
 * `pg_try_advisory_lock` for the length of `fn`. A dead leader's lock goes with its connection. `session`
 * must be a pool of one connection (`DatabaseHandle.session()`), so that the lock and its release happen
 * on the same session, and so that a connection lost while `fn` runs is simply reconnected: the release
 * then finds no lock to give back, and the next tick takes it again.
 */
export class LeaderLock {
  readonly #session: Sql;
  readonly #key: string;

  constructor(session: Sql, key = 'flowtrace-reconciler') {
    this.#session = session;
    this.#key = key;
  }

  /** Runs `fn` as the leader, or not at all (`led: false`) when another process leads. */
  async withLeadership<T>(fn: () => Promise<T>): Promise<{ led: boolean; result?: T }> {
    const session = this.#session;
    const [lock] = await session`select pg_try_advisory_lock(hashtext(${this.#key})) as held`;
    if (!lock?.held) return { led: false };
    try {
      return { led: true, result: await fn() };
    } finally {
      // A lost session took the lock with it; one left held by a failed release is this process's still,
      // taken again (re-entrantly) by its next tick.
      await session`select pg_advisory_unlock(hashtext(${this.#key}))`.catch(() => {});
    }
  }
}
