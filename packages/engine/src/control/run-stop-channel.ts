import type { Logger } from '@flowtrace/telemetry';
import type { RedisConnection } from '../queue/redis-connection.ts';
import type { RunSignals } from '../runtime/run-signals.ts';
import { RunStoppedError } from '../runtime/stop-reasons.ts';

interface StopMessage {
  runId: string;
  code: 'cancelled' | 'run_timeout';
  /** Why, as the stopped nodes record it; a default per code when absent. */
  message?: string | undefined;
}

const DEFAULT_MESSAGES: Record<StopMessage['code'], string> = {
  cancelled: 'the run was cancelled',
  run_timeout: 'the run timed out',
};

function channelName(prefix: string): string {
  return `${prefix}:run-stops`;
}

/**
 * Tells workers to abort the running nodes of a stopped run (cancelled, timed out, or failed by one of its
 * nodes), over Redis pub/sub. Delivery is best effort: a worker that misses the message sees the run is over
 * at its next heartbeat (see `startHeartbeat`).
 */
export class RunStopChannel {
  readonly #redis: RedisConnection;
  readonly #channel: string;

  constructor(deps: { redis: RedisConnection; prefix: string }) {
    this.#redis = deps.redis;
    this.#channel = channelName(deps.prefix);
  }

  async publish(message: StopMessage): Promise<void> {
    await this.#redis.publish(this.#channel, JSON.stringify(message));
  }

  /** Subscribes a worker: aborts this process's running nodes of each stopped run. Returns the unsubscriber. */
  static async subscribe(deps: {
    redis: RedisConnection;
    prefix: string;
    signals: RunSignals;
    logger: Logger;
  }): Promise<() => Promise<void>> {
    // A subscribed connection can do nothing else: use a dedicated one.
    const subscriber = deps.redis.duplicate();
    subscriber.on('error', (error) =>
      deps.logger.warn({ err: error }, 'run-stop subscriber connection error'),
    );
    subscriber.on('message', (_channel, raw) => {
      try {
        const message = JSON.parse(raw) as StopMessage;
        const aborted = deps.signals.abortRun(
          message.runId,
          new RunStoppedError(
            message.code,
            typeof message.message === 'string'
              ? message.message
              : (DEFAULT_MESSAGES[message.code] ?? 'the run was stopped'),
          ),
        );
        if (aborted > 0)
          deps.logger.info(
            { runId: message.runId, aborted, reason: message.code },
            'aborted running nodes of a stopped run',
          );
      } catch (error) {
        deps.logger.warn({ err: error }, 'ignoring a malformed run-stop message');
      }
    });
    await subscriber.subscribe(channelName(deps.prefix));
    return async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    };
  }
}
