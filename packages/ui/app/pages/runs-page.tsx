import type { ListRunsFilter } from '@flowtrace/client';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { RunFilters, RunStatus, RunSummary } from '../api/types.ts';
import { useApi } from '../components/api-context.ts';
import { Card, ErrorNotice, ExternalLink, Link, StatusBadge } from '../components/common.tsx';
import {
  elapsedMs,
  formatAgo,
  formatCost,
  formatDuration,
  formatTime,
  formatTokens,
  shortId,
} from '../lib/format.ts';
import { navigate, runPath, useLocation } from '../lib/router.ts';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
const REFRESH_MS = 4_000;

function filtersOf(search: URLSearchParams): RunFilters {
  const filters: RunFilters = {};
  for (const name of ['status', 'workflowName', 'createdAfter', 'createdBefore'] as const) {
    const value = search.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** The list request for the filters in the address; an unknown status gets the API's 400 and its message. */
function listFilter(filters: RunFilters, cursor?: string): ListRunsFilter {
  const { status, ...rest } = filters;
  return {
    ...rest,
    ...(status ? { status: status.split(',') as RunStatus[] } : {}),
    ...(cursor ? { cursor } : {}),
    limit: 50,
  };
}

/** `datetime-local` values are local time; the API takes ISO 8601. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso: string | undefined) => {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** The tenant's runs, newest first, filtered by status, workflow and creation time; refreshed live. */
export function RunsPage() {
  const api = useApi();
  const { search } = useLocation();
  const filters = filtersOf(search);
  const filterKey = JSON.stringify(filters);
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [now, setNow] = useState(Date.now());
  const pagesLoaded = useRef(1);

  const setFilter = (name: keyof RunFilters, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(name, value);
    else next.delete(name);
    const query = next.toString();
    navigate(`/ui/runs${query ? `?${query}` : ''}`, { replace: true });
  };

  // First page on load and on every filter change, then refreshed while the tab is visible.
  const refresh = useCallback(
    async (signal: AbortSignal, initial: boolean) => {
      try {
        const page = await api.client.listRuns(listFilter(JSON.parse(filterKey) as RunFilters), { signal });
        setError(null);
        setNow(Date.now());
        setRuns((previous) => {
          if (initial || previous === null || pagesLoaded.current === 1) return page.runs;
          // Keep the older pages the user loaded; the first page replaces their newest rows.
          const fresh = new Set(page.runs.map((r) => r.id));
          return [...page.runs, ...previous.filter((r) => !fresh.has(r.id))];
        });
        if (initial || pagesLoaded.current === 1) setCursor(page.nextCursor);
      } catch (caught) {
        if (!signal.aborted) setError((caught as Error).message);
      }
    },
    [api, filterKey],
  );

  useEffect(() => {
    const controller = new AbortController();
    pagesLoaded.current = 1;
    setRuns(null);
    void refresh(controller.signal, true);
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh(controller.signal, false);
    }, REFRESH_MS);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [refresh]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api.client.listRuns(listFilter(filters, cursor));
      pagesLoaded.current += 1;
      setRuns((previous) => {
        const seen = new Set((previous ?? []).map((r) => r.id));
        return [...(previous ?? []), ...page.runs.filter((r) => !seen.has(r.id))];
      });
      setCursor(page.nextCursor);
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setLoadingMore(false);
    }
  };

  const hasFilters = Object.keys(filters).length > 0;
  return (
    <>
      <div class="page-heading">
        <div>
          <h1>Runs</h1>
          <p class="muted">Every workflow run of this tenant, newest first. The list refreshes on its own.</p>
        </div>
      </div>
      <Card class="runs-card">
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <label class="field field-inline">
            <span>Status</span>
            <select
              name="status"
              value={filters.status ?? ''}
              onChange={(e) => setFilter('status', (e.target as HTMLSelectElement).value)}
            >
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option value={s}>{s[0]?.toUpperCase() + s.slice(1)}</option>
              ))}
            </select>
          </label>
          <label class="field field-inline">
            <span>Workflow</span>
            <input
              type="search"
              name="workflowName"
              placeholder="Workflow name"
              value={filters.workflowName ?? ''}
              onChange={(e) => setFilter('workflowName', (e.target as HTMLInputElement).value.trim())}
            />
          </label>
          <label class="field field-inline">
            <span>Created after</span>
            <input
              type="datetime-local"
              name="createdAfter"
              value={toLocal(filters.createdAfter)}
              onChange={(e) => setFilter('createdAfter', toIso((e.target as HTMLInputElement).value))}
            />
          </label>
          <label class="field field-inline">
            <span>Created before</span>
            <input
              type="datetime-local"
              name="createdBefore"
              value={toLocal(filters.createdBefore)}
              onChange={(e) => setFilter('createdBefore', toIso((e.target as HTMLInputElement).value))}
            />
          </label>
          {hasFilters ? (
            <button
              type="button"
              class="btn btn-ghost btn-sm"
              onClick={() => navigate('/ui/runs', { replace: true })}
            >
              Clear filters
            </button>
          ) : null}
        </form>
        {error ? <ErrorNotice title="Could not list runs" message={error} /> : null}
        {runs === null && !error ? <p class="empty">Loading runs…</p> : null}
        {runs !== null && runs.length === 0 ? (
          <p class="empty">
            {hasFilters ? 'No run matches these filters.' : 'No runs yet. Start one with POST /v1/runs.'}
          </p>
        ) : null}
        {runs !== null && runs.length > 0 ? <RunsTable runs={runs} now={now} /> : null}
        {cursor ? (
          <div class="load-more">
            <button type="button" class="btn" onClick={loadMore} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load older runs'}
            </button>
          </div>
        ) : null}
      </Card>
    </>
  );
}

function RunsTable({ runs, now }: { runs: RunSummary[]; now: number }) {
  return (
    <table class="table runs-table">
      <thead>
        <tr>
          <th>Status</th>
          <th>Run</th>
          <th>Workflow</th>
          <th>Created</th>
          <th class="num">Duration</th>
          <th class="num">Tokens</th>
          <th class="num">Cost</th>
          <th>Trace</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run-id={run.id} data-status={run.status}>
            <td>
              <StatusBadge status={run.status} size="sm" />
            </td>
            <td>
              <Link href={runPath(run.id)} class="mono run-link" title={run.id}>
                {shortId(run.id)}
              </Link>
              {run.replayOf ? (
                <span class="tag" title={`Replay of run ${run.replayOf}`}>
                  replay of {shortId(run.replayOf)}
                </span>
              ) : null}
            </td>
            <td>
              <span class="workflow-name">{run.workflowName}</span>{' '}
              <span class="muted">v{run.workflowVersion}</span>
            </td>
            <td title={run.createdAt}>
              {formatTime(run.createdAt)} <span class="muted">· {formatAgo(run.createdAt, now)}</span>
            </td>
            <td class="num">
              {formatDuration(elapsedMs(run.startedAt ?? run.createdAt, run.finishedAt, now))}
            </td>
            <td class="num">{formatTokens(run.usage.inputTokens + run.usage.outputTokens)}</td>
            <td class="num">{formatCost(run.usage.costUsd)}</td>
            <td>
              <ExternalLink href={run.traceUrl} class="trace-link">
                SigNoz
              </ExternalLink>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
