import type { RunDetail } from '../../api/types.ts';
import { ExternalLink, Link, StatusBadge } from '../../components/common.tsx';
import {
  elapsedMs,
  formatCost,
  formatDuration,
  formatTime,
  formatTokens,
  shortId,
} from '../../lib/format.ts';
import { runPath } from '../../lib/router.ts';
import type { Connection } from './use-live-run.ts';

const CONNECTION_LABELS: Partial<Record<Connection, string>> = {
  loading: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Live (polling)',
};

export interface RunHeaderProps {
  run: RunDetail;
  connection: Connection;
  now: number;
  replaying: boolean;
  onReplay: () => void;
}

/** Title, status, replay relations, totals and the trace link of a run. */
export function RunHeader({ run, connection, now, replaying, onReplay }: RunHeaderProps) {
  const terminal = ['completed', 'failed', 'cancelled'].includes(run.status);
  const connectionLabel = terminal ? null : CONNECTION_LABELS[connection];
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/ui/runs">Runs</Link>
        <span aria-hidden="true">/</span>
        <span class="mono">{shortId(run.id)}</span>
      </nav>
      <div class="run-head">
        <div class="run-title">
          <h1>
            {run.workflowName} <span class="muted">v{run.workflowVersion}</span>
          </h1>
          <StatusBadge status={run.status} />
          {connectionLabel ? (
            <span class={`connection connection-${connection}`} data-connection={connection}>
              <span class="connection-dot" aria-hidden="true" />
              {connectionLabel}
            </span>
          ) : null}
        </div>
        <div class="run-actions">
          <ExternalLink href={run.traceUrl} class="btn">
            Trace in SigNoz
          </ExternalLink>
          {run.status === 'failed' || run.status === 'cancelled' ? (
            <button
              type="button"
              class="btn btn-primary"
              onClick={onReplay}
              disabled={replaying}
              data-action="replay"
            >
              {replaying ? 'Replaying…' : run.status === 'failed' ? 'Replay from failed node' : 'Replay'}
            </button>
          ) : null}
        </div>
      </div>
      {run.replayOf || (run.replays && run.replays.length > 0) ? (
        <div class="relations">
          {run.replayOf ? (
            <span data-relation="replay-of">
              Replay of{' '}
              <Link href={runPath(run.replayOf)} class="mono">
                {shortId(run.replayOf)}
              </Link>
            </span>
          ) : null}
          {run.replays && run.replays.length > 0 ? (
            <span data-relation="replays">
              Replayed as{' '}
              {run.replays.map((id, i) => (
                <>
                  {i > 0 ? ', ' : ''}
                  <Link href={runPath(id)} class="mono">
                    {shortId(id)}
                  </Link>
                </>
              ))}
            </span>
          ) : null}
        </div>
      ) : null}
      <dl class="summary">
        <div>
          <dt>Run</dt>
          <dd class="mono" title={run.id}>
            {run.id}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatTime(run.createdAt)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(elapsedMs(run.startedAt ?? run.createdAt, run.finishedAt, now))}</dd>
        </div>
        <div>
          <dt>Model calls</dt>
          <dd>{formatTokens(run.usage.modelCalls)}</dd>
        </div>
        <div>
          <dt>Tokens in / out</dt>
          <dd>
            {formatTokens(run.usage.inputTokens)} / {formatTokens(run.usage.outputTokens)}
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd data-testid="run-cost">{formatCost(run.usage.costUsd)}</dd>
        </div>
        <div>
          <dt>Trace</dt>
          <dd class="mono" title={run.sampled ? 'sampled' : 'not sampled: the trace was not exported'}>
            {run.traceId.slice(0, 16)}…{run.sampled ? '' : ' (not sampled)'}
          </dd>
        </div>
      </dl>
    </>
  );
}
