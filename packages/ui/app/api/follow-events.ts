import { apiError, FlowtraceApiError } from '@flowtrace/client';
import { SseParser } from '../lib/sse-parser.ts';
import type { ViewerApi } from './client.ts';
import { eventSeq, type RunEvent } from './types.ts';

export type FollowState = 'live' | 'reconnecting' | 'polling' | 'ended';

export interface FollowOptions {
  api: ViewerApi;
  runId: string;
  /** The last event already shown; the stream resumes after it. */
  after: number;
  onEvent: (event: RunEvent) => void;
  onState: (state: FollowState) => void;
  signal: AbortSignal;
  /** Polling interval when the stream route is unavailable. */
  pollMs?: number;
}

const TERMINAL_EVENTS = new Set(['run.completed', 'run.failed', 'run.cancelled']);
const MAX_BACKOFF_MS = 10_000;
const STREAMLESS_STATUSES = new Set([404, 405, 501, 503]);

/**
 * Follows a run's events until its terminal event: the SSE stream read with `fetch` (an `EventSource`
 * cannot send the API key), resumed with `Last-Event-ID` after a dropped connection, with a growing
 * delay between reconnects. Where the server has no stream route it polls the events route instead.
 * Events at or before the last one seen are dropped, so a resumed stream never repeats one.
 */
export async function followEvents(options: FollowOptions): Promise<void> {
  const { api, runId, signal } = options;
  let last = options.after;
  let ended = false;
  let backoffMs = 500;
  const deliver = (event: RunEvent) => {
    const seq = eventSeq(event);
    if (seq <= last) return;
    last = seq;
    options.onEvent(event);
    if (TERMINAL_EVENTS.has(event.type)) ended = true;
  };

  while (!signal.aborted && !ended) {
    try {
      const response = await api.fetch(api.url(`/v1/runs/${encodeURIComponent(runId)}/events/stream`), {
        headers: api.headers({
          accept: 'text/event-stream',
          ...(last > 0 ? { 'last-event-id': String(last) } : {}),
        }),
        cache: 'no-store',
        signal,
      });
      // No stream here (an older API, or a process without live events): read the events route instead.
      if (STREAMLESS_STATUSES.has(response.status)) {
        await response.body?.cancel();
        await poll(
          options,
          () => last,
          deliver,
          () => ended,
        );
        break;
      }
      if (!response.ok || !response.body) {
        throw apiError(response.status, await response.json().catch(() => null));
      }
      options.onState('live');
      backoffMs = 500;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      try {
        while (!ended) {
          const { value, done } = await reader.read();
          if (done) break;
          const text = decoder.decode(value, { stream: true });
          for (const message of parser.feed(text)) deliver(JSON.parse(message.data) as RunEvent);
        }
      } finally {
        await reader.cancel().catch(() => {});
      }
    } catch (error) {
      if (signal.aborted) return;
      // A client error other than a timeout will not heal by reconnecting (a revoked key, for one).
      if (
        error instanceof FlowtraceApiError &&
        error.status < 500 &&
        error.status !== 408 &&
        error.status !== 429
      ) {
        throw error;
      }
    }
    if (ended || signal.aborted) break;
    options.onState('reconnecting');
    await sleep(backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }
  if (ended) options.onState('ended');
}

async function poll(
  options: FollowOptions,
  last: () => number,
  deliver: (event: RunEvent) => void,
  ended: () => boolean,
): Promise<void> {
  options.onState('polling');
  while (!options.signal.aborted && !ended()) {
    try {
      const page = await options.api.client.listEvents(
        options.runId,
        { after: last(), limit: 1000 },
        { signal: options.signal },
      );
      for (const event of page.events) deliver(event);
      if (page.nextAfter !== null) continue;
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof FlowtraceApiError && error.status < 500 && error.status !== 429) throw error;
    }
    await sleep(options.pollMs ?? 1_000, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
