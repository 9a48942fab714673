import type { Logger } from '@flowtrace/telemetry';
import type { NodeStateStore } from '../store/node-state-store.ts';
import { RunStoppedError } from './stop-reasons.ts';

/**
 * Renews a running attempt's heartbeat in Postgres every `everyMs`. When the attempt is no longer current
 * (its run was cancelled or timed out, or it was superseded), the executor is aborted: cancellation reaches
 * running nodes even if the cancel message on Redis was missed. Returns the timer to clear.
 */
export function startHeartbeat(options: {
  store: NodeStateStore;
  ref: { runId: string; nodeId: string; attempt: number };
  everyMs: number;
  controller: AbortController;
  logger: Logger;
}): NodeJS.Timeout {
  const { store, ref, controller, logger } = options;
  return setInterval(() => {
    store
      .heartbeat(ref)
      .then((current) => {
        if (!current && !controller.signal.aborted) {
          controller.abort(
            new RunStoppedError(
              'cancelled',
              `node "${ref.nodeId}" was stopped: its run is no longer running`,
            ),
          );
        }
      })
      .catch((error) => logger.warn({ err: error }, 'could not renew the node heartbeat'));
  }, options.everyMs).unref();
}
