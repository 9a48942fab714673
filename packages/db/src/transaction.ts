import type postgres from 'postgres';
import { isConnectionLost, type Sql } from './client.ts';

/** The connection a transaction runs on (`transaction`'s callback receives it). */
export type Transaction = postgres.ReservedSql;

/**
 * Runs `fn` in a transaction on a connection of its own, then commits; rolls back and rethrows when `fn`
 * throws. Used in place of postgres.js's `sql.begin`, which sends `ROLLBACK` even on a connection whose
 * backend has gone (Postgres restarting, a terminated backend): postgres.js 3.4 then writes to a socket
 * that no longer exists, an exception thrown outside any promise that ends the process
 * (porsager/postgres#1208). Here a transaction whose connection is lost sends nothing more on it and does
 * not release it (postgres.js has already put it back in its pool, to reconnect), and rethrows the loss,
 * which `retryTransient` treats as transient. `fn` runs its statements on `tx` only: an error from another
 * connection that says it was lost would be taken for this one's.
 */
export async function transaction<T>(sql: Sql, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const tx = await reserveConnection(sql);
  let lost = false;
  try {
    await tx`begin`;
    const result = await fn(tx);
    await tx`commit`;
    return result;
  } catch (error) {
    lost = isConnectionLost(error);
    if (!lost) await tx`rollback`.catch(() => {});
    throw error;
  } finally {
    if (!lost) tx.release();
  }
}

/**
 * `sql.reserve()`, bounded in time. postgres.js 3.4 can drop a waiting reserve request for good: when a
 * connection closes while the request waits (Postgres restarting), the request becomes the first query of
 * the reconnection, which serves only ordinary queries, so the caller would wait forever. Past `timeoutMs`
 * this throws a transient `CONNECT_TIMEOUT` error (callers retry, or make their writes another way), and a
 * connection that arrives later is released at once.
 */
export async function reserveConnection(sql: Sql, timeoutMs = 10_000): Promise<Transaction> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const reserving = sql.reserve();
  reserving.then(
    (connection) => {
      if (timedOut) connection.release();
    },
    () => {},
  );
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(
        Object.assign(new Error(`no database connection could be reserved within ${timeoutMs} ms`), {
          code: 'CONNECT_TIMEOUT',
        }),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([reserving, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
