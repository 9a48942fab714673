import type { Logger } from '@flowtrace/telemetry';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { RedisConnection } from '../queue/redis-connection.ts';

/**
 * Told after a transaction that wrote events of a run has committed. Implementations never throw and never
 * make the writer wait: a wake-up that is lost only delays live readers until their next sweep.
 */
export interface RunEventNotifier {
  committed(runId: string): void;
}

/** The Redis channel that announces new events of one run (in the fleet's key prefix). */
export function runEventChannel(prefix: string, runId: string): string {
  return `${prefix}:run-events:${runId}`;
}

/**
 * Publishes "run X has new events" on Redis, one channel per run, after the events have committed. The
 * message carries no event: an API process subscribed to the run reads the new rows from Postgres by
 * `seq`, once for all its readers of that run (see `RunEventHub`). Publishing to a channel nobody listens
 * to costs Redis almost nothing, so writers publish for every run.
 */
export class RedisRunEventNotifier implements RunEventNotifier {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #logger: Logger;
  #lastWarning = 0;

  constructor(deps: { redis: RedisConnection; prefix: string; logger: Logger }) {
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    this.#logger = deps.logger;
  }

  committed(runId: string): void {
    try {
      // Outside any span: a wake-up per event write is not worth a Redis span in the run's trace (and it
      // may end after the run's invoke_workflow span).
      context
        .with(ROOT_CONTEXT, () => this.#redis.publish(runEventChannel(this.#prefix, runId), '1'))
        .catch((error: unknown) => this.#warn(error));
    } catch (error) {
      this.#warn(error);
    }
  }

  #warn(error: unknown): void {
    // At most one warning a minute: Redis being down is reported by the connection itself.
    if (Date.now() - this.#lastWarning < 60_000) return;
    this.#lastWarning = Date.now();
    this.#logger.warn(
      { err: error },
      'could not announce new run events; live readers catch up at their sweep',
    );
  }
}

/** Awaits a write and, when it recorded events (`wrote`), tells the notifier once it has committed. */
export async function announceCommitted<T>(
  notifier: RunEventNotifier | undefined,
  runId: string,
  write: Promise<T>,
  wrote: (result: T) => boolean,
): Promise<T> {
  const result = await write;
  if (notifier && wrote(result)) notifier.committed(runId);
  return result;
}
