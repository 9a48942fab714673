import { isTransientDatabaseError } from '@flowtrace/db';

/**
 * Whether Postgres refused a value itself (SQLSTATE class 22, data exception: U+0000 in text, invalid
 * JSON escapes, out-of-range numbers; class 54, program limit exceeded: JSON nested past the stack depth).
 * Writing the same value again fails the same way, so such a write must not be retried.
 */
export function isRejectedValueError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code);
}

/**
 * Retries `fn` while Postgres is unreachable or restarting (with a capped backoff, `budgetMs` in all). Used
 * for the writes that record a node's outcome: re-executing a finished node because its result could not be
 * written for a second would cost another model call. The writes are guarded by the attempt number, so a
 * retry after a commit whose acknowledgement was lost changes nothing.
 */
export async function retryTransient<T>(fn: () => Promise<T>, budgetMs = 20_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransientDatabaseError(error) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}
