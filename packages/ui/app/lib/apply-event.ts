import { type RunDetail, type RunEvent, type RunStatus, TERMINAL_RUN_STATUSES } from '../api/types.ts';

const RUN_STATUS_BY_EVENT: Record<string, RunStatus> = {
  'run.started': 'running',
  'run.completed': 'completed',
  'run.failed': 'failed',
  'run.cancelled': 'cancelled',
};

const NODE_STATUS_BY_EVENT: Record<string, string> = {
  'node.started': 'running',
  'node.completed': 'completed',
  'node.failed': 'failed',
  // Waiting for the next attempt.
  'node.retried': 'queued',
  'node.cancelled': 'cancelled',
  'node.skipped': 'skipped',
};

/**
 * The run as an event leaves it, for the page to show a status change the moment its event arrives;
 * the next read of the run fills in what events do not carry (outputs, usage). Statuses only move
 * forward: a terminal run or node is never reopened by a late event.
 */
export function applyEvent(run: RunDetail, event: RunEvent): RunDetail {
  const runStatus = RUN_STATUS_BY_EVENT[event.type];
  if (runStatus) {
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return run;
    const terminal = TERMINAL_RUN_STATUSES.includes(runStatus);
    return {
      ...run,
      status: runStatus,
      ...(runStatus === 'running' && !run.startedAt ? { startedAt: event.createdAt } : {}),
      ...(terminal && !run.finishedAt ? { finishedAt: event.createdAt } : {}),
    };
  }
  const nodeStatus = NODE_STATUS_BY_EVENT[event.type];
  if (!nodeStatus || !event.nodeId) return run;
  let changed = false;
  const nodes = run.nodes.map((node) => {
    if (node.nodeId !== event.nodeId) return node;
    if (['completed', 'failed', 'skipped', 'cancelled'].includes(node.status)) return node;
    // An event of an earlier attempt than the node row already shows is stale.
    if (event.attempt !== null && event.attempt < node.attempts) return node;
    changed = true;
    if (nodeStatus === 'running') {
      return {
        ...node,
        status: nodeStatus,
        attempts: event.attempt ?? node.attempts + 1,
        startedAt: event.createdAt,
        finishedAt: null,
      };
    }
    const finished = nodeStatus !== 'queued';
    return { ...node, status: nodeStatus, ...(finished ? { finishedAt: event.createdAt } : {}) };
  });
  return changed ? { ...run, nodes } : run;
}
