import type { CommitHook } from '@flowtrace/engine';
import type { Logger } from '@flowtrace/telemetry';

/**
 * Test-only failure injection (`FLOWTRACE_FAILPOINT=exit-after-commit:<nodeId>`): the worker exits, as if
 * killed, right after the commit that made successors of that node ready and before it enqueues them, so
 * a fault test can check that the reconciler re-drives them. Never set in production.
 */
export function failpointHook(failpoint: string | undefined, logger: Logger): CommitHook | undefined {
  if (failpoint === undefined) return undefined;
  const nodeId = failpoint.slice('exit-after-commit:'.length);
  return (attempt, readySuccessors) => {
    if (attempt.nodeId !== nodeId || readySuccessors === 0) return;
    logger.warn('failpoint exit-after-commit: exiting before enqueueing the ready successors');
    process.exit(137);
  };
}
