import { FlowtraceApiError } from '@flowtrace/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { RunDetail } from '../../api/types.ts';
import { useApi } from '../../components/api-context.ts';
import { Card, ErrorNotice, Link } from '../../components/common.tsx';
import { navigate, runPath } from '../../lib/router.ts';
import { buildTimeline } from '../../lib/timeline-model.ts';
import { DagView } from './dag-view.tsx';
import { EventsTable } from './events-table.tsx';
import { NodePanel } from './node-panel.tsx';
import { RunHeader } from './run-header.tsx';
import { TimelineView } from './timeline-view.tsx';
import { useLiveRun } from './use-live-run.ts';

/** The node to show before the user picks one: the failed one, else a running one, else the first. */
function defaultNode(run: RunDetail): string | null {
  const pick =
    run.nodes.find((n) => n.status === 'failed') ??
    run.nodes.find((n) => n.status === 'running') ??
    run.nodes[0];
  return pick?.nodeId ?? null;
}

/** One run, live: its graph, attempt timeline, the selected node's details, events, totals and replay. */
export function RunPage({ runId }: { runId: string }) {
  const api = useApi();
  const live = useLiveRun(api, runId);
  const [picked, setPicked] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  const [replaying, setReplaying] = useState(false);
  const [replayError, setReplayError] = useState<string | null>(null);
  const { run } = live;
  const terminal = run ? ['completed', 'failed', 'cancelled'].includes(run.status) : false;

  // Running bars and durations grow while the run is going.
  useEffect(() => {
    if (terminal) {
      setNow(Date.now());
      return;
    }
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [terminal]);

  const timeline = useMemo(
    () => (run ? buildTimeline(run, live.events, now) : null),
    [run, live.events, now],
  );

  if (!run) {
    if (live.error) {
      const missing = live.error instanceof FlowtraceApiError && live.error.status === 404;
      return (
        <>
          <nav class="crumbs">
            <Link href="/ui/runs">Runs</Link>
          </nav>
          <ErrorNotice
            title={missing ? 'Run not found' : 'Could not load the run'}
            message={missing ? `There is no run ${runId} for this API key's tenant.` : live.error.message}
          />
        </>
      );
    }
    return <p class="empty">Loading run…</p>;
  }

  const selectedId = picked && run.nodes.some((n) => n.nodeId === picked) ? picked : defaultNode(run);
  const selected = run.nodes.find((n) => n.nodeId === selectedId) ?? null;

  const replay = async (fromNodes?: string[]) => {
    setReplaying(true);
    setReplayError(null);
    try {
      const accepted = await api.client.replayRun(run.id, fromNodes ? { fromNodes } : {});
      navigate(runPath(accepted.runId));
    } catch (error) {
      setReplayError((error as Error).message);
    } finally {
      setReplaying(false);
    }
  };

  return (
    <div class="run-page" data-run-id={run.id} data-status={run.status}>
      <RunHeader
        run={run}
        connection={live.connection}
        now={now}
        replaying={replaying}
        onReplay={() => replay()}
      />
      {replayError ? <ErrorNotice title="Replay refused" message={replayError} /> : null}
      {live.error && live.connection === 'error' ? (
        <ErrorNotice
          title="Live updates stopped"
          message={`${live.error.message}. Reload the page to resume.`}
        />
      ) : null}
      {run.error ? (
        <div class="notice notice-error run-error" data-testid="run-error">
          <strong>Run {run.status}</strong>
          <span>
            <span class="mono">{run.error.code}</span>
            {run.error.nodeId ? (
              <>
                {' '}
                at node <span class="mono">{run.error.nodeId}</span>
              </>
            ) : null}
            : {run.error.message}
          </span>
        </div>
      ) : null}
      <Card title="Graph" class="dag-card">
        <DagView nodes={run.nodes} selected={selectedId} onSelect={setPicked} />
      </Card>
      <div class="run-grid">
        <Card title="Timeline" class="timeline-card">
          {timeline ? <TimelineView timeline={timeline} selected={selectedId} onSelect={setPicked} /> : null}
        </Card>
        <Card title="Node" class="node-card">
          {selected ? (
            <NodePanel
              run={run}
              node={selected}
              steps={live.steps}
              now={now}
              replaying={replaying}
              onReplayFrom={(nodeId) => replay([nodeId])}
            />
          ) : (
            <p class="empty">This run has no nodes.</p>
          )}
        </Card>
      </div>
      <Card title={`Events (${live.events.length})`} class="events-card">
        <EventsTable events={live.events} />
      </Card>
    </div>
  );
}
