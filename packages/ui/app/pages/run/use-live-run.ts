import { useEffect, useState } from 'preact/hooks';
import type { ViewerApi } from '../../api/client.ts';
import { type FollowState, followEvents } from '../../api/follow-events.ts';
import {
  type AgentStep,
  eventSeq,
  type RunDetail,
  type RunEvent,
  TERMINAL_RUN_STATUSES,
} from '../../api/types.ts';
import { applyEvent } from '../../lib/apply-event.ts';

export type Connection = 'loading' | FollowState | 'error';

export interface LiveRun {
  run: RunDetail | null;
  events: RunEvent[];
  /** Null while loading. */
  steps: AgentStep[] | null;
  connection: Connection;
  error: Error | null;
}

const REFRESH_DELAY_MS = 150;

/**
 * One run, kept current: loaded with its events and agent steps, then followed over the event stream
 * until it ends. Each event updates the statuses at once and schedules one re-read of the run (coalesced
 * while a read is in flight) for what events do not carry: outputs, errors, usage.
 */
export function useLiveRun(api: ViewerApi, runId: string): LiveRun {
  const [state, setState] = useState<LiveRun>({
    run: null,
    events: [],
    steps: null,
    connection: 'loading',
    error: null,
  });

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const update = (change: (previous: LiveRun) => LiveRun) => {
      if (!signal.aborted) setState((previous) => change(previous));
    };

    const readRun = () => api.client.getRun(runId, { signal });
    const readSteps = async (): Promise<AgentStep[]> =>
      (await api.client.getRunSteps(runId, { signal })).steps;

    let reading = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reread = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const [run, steps] = await Promise.all([readRun(), readSteps()]);
          update((previous) => ({ ...previous, run: mergeRun(run, previous.events), steps }));
        } while (again && !signal.aborted);
      } catch (error) {
        if (!signal.aborted) update((previous) => ({ ...previous, error: error as Error }));
      } finally {
        reading = false;
      }
    };
    const scheduleReread = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reread(), REFRESH_DELAY_MS);
    };

    (async () => {
      const [run, events, steps] = await Promise.all([
        readRun(),
        readAllEvents(api, runId, signal),
        readSteps(),
      ]);
      const terminal = TERMINAL_RUN_STATUSES.includes(run.status);
      update(() => ({
        run: mergeRun(run, events),
        events,
        steps,
        connection: terminal ? 'ended' : 'loading',
        error: null,
      }));
      if (terminal) return;
      await followEvents({
        api,
        runId,
        after: events.reduce((max, e) => Math.max(max, eventSeq(e)), 0),
        signal,
        onState: (connection) => update((previous) => ({ ...previous, connection })),
        onEvent: (event) => {
          update((previous) => ({
            ...previous,
            events: [...previous.events, event],
            run: previous.run ? applyEvent(previous.run, event) : previous.run,
          }));
          scheduleReread();
        },
      });
      clearTimeout(timer);
      await reread();
    })().catch((error: Error) => {
      if (!signal.aborted) update((previous) => ({ ...previous, connection: 'error', error }));
    });

    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [api, runId]);

  return state;
}

async function readAllEvents(api: ViewerApi, runId: string, signal: AbortSignal): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await api.client.listEvents(runId, { after, limit: 1000 }, { signal });
    events.push(...page.events);
    if (page.nextAfter === null || page.events.length === 0) return events;
    after = page.nextAfter;
  }
}

/**
 * A freshly read run with the latest event of the run and of each node applied on top, so that a read
 * answered just before an event never moves a status back (`applyEvent` ignores what the row is past).
 */
function mergeRun(run: RunDetail, events: readonly RunEvent[]): RunDetail {
  const latest = new Map<string, RunEvent>();
  for (const event of events) {
    const key = event.nodeId ?? (event.type.startsWith('run.') ? '' : null);
    if (key === null) continue;
    const seen = latest.get(key);
    if (!seen || eventSeq(seen) < eventSeq(event)) latest.set(key, event);
  }
  return [...latest.values()].reduce(applyEvent, run);
}
