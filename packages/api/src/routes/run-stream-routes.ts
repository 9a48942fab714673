import type { ServerResponse } from 'node:http';
import {
  type EventView,
  type RunEventHub,
  type RunEventSubscription,
  type RunQueries,
  TERMINAL_EVENT_TYPES,
} from '@flowtrace/engine';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/authenticate.ts';
import { streamQuerySchema } from '../http/run-console-schemas.ts';
import { errorBodySchema, runIdParams } from '../http/schemas.ts';
import { toEventItem } from './event-item.ts';

export interface RunStreamRouteDeps {
  queries: RunQueries;
  /** Live events; without it (no Redis subscriber in this process) the route answers 503. */
  events: RunEventHub | undefined;
  /** How often an idle stream gets a `: ping` comment, so that proxies and clients see it alive. */
  heartbeatMs: number;
  /** A stream whose client reads slower than this many buffered bytes is ended; the client resumes. */
  maxBufferedBytes?: number;
  /** Open streams one tenant may hold on this process; more answer 429 `concurrency_limited`. */
  maxStreamsPerTenant: number;
}

interface OpenStream {
  tenantId: string;
  res: ServerResponse;
  /** The response was taken over from Fastify (headers sent); before that, errors go through Fastify. */
  started: boolean;
  subscription: RunEventSubscription | undefined;
  ended: boolean;
}

const MAX_EVENT_ID = 2_147_483_647;

/** One Server-Sent Event per lifecycle event: `id` is its seq, `event` its type, `data` the /events item. */
export function sseFrame(event: EventView): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(toEventItem(event))}\n\n`;
}

/** The position to resume after: `Last-Event-ID` (what an SSE client sends on reconnection), else `?after=`. */
function resumePosition(header: string | string[] | undefined, after: number | undefined): number {
  if (header === undefined) return after ?? 0;
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,10}$/.test(value.trim()) || Number(value) > MAX_EVENT_ID) {
    throw new FlowtraceError(
      'invalid_request',
      'Last-Event-ID must be the id (seq) of an event this stream sent: a non-negative integer',
    );
  }
  return Number(value);
}

/**
 * `GET /v1/runs/:id/events/stream`: the run's events as Server-Sent Events, in commit order, from after
 * `Last-Event-ID` (or `?after=`), ending after the run's terminal event. Events come from the process's
 * `RunEventHub` (one Redis subscription and one reader per run, whatever the number of streams); the
 * streams of this process share one heartbeat timer.
 */
export function runStreamRoutes(app: FastifyInstance, deps: RunStreamRouteDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const maxBuffered = deps.maxBufferedBytes ?? 1024 * 1024;
  const open = new Set<OpenStream>();
  const perTenant = new Map<string, number>();
  let heartbeat: NodeJS.Timeout | undefined;

  const end = (stream: OpenStream) => {
    if (stream.ended) return;
    stream.ended = true;
    open.delete(stream);
    const count = (perTenant.get(stream.tenantId) ?? 1) - 1;
    if (count > 0) perTenant.set(stream.tenantId, count);
    else perTenant.delete(stream.tenantId);
    stream.subscription?.close();
    if (stream.started && !stream.res.writableEnded) stream.res.end();
    if (open.size === 0) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  };
  const write = (stream: OpenStream, chunk: string) => {
    if (stream.ended) return;
    stream.res.write(chunk);
    // A client that does not read: drop it rather than buffer without bound; it resumes from its last id.
    if (stream.res.writableLength > maxBuffered) end(stream);
  };
  const startHeartbeat = () => {
    heartbeat ??= setInterval(() => {
      for (const stream of open) write(stream, ': ping\n\n');
    }, deps.heartbeatMs);
    heartbeat.unref();
  };

  // Open streams would keep the server from closing: end them first (clients reconnect elsewhere).
  app.addHook('preClose', (done) => {
    for (const stream of [...open]) end(stream);
    done();
  });

  typed.get(
    '/v1/runs/:id/events/stream',
    {
      schema: {
        summary: "Follow a run's events live (Server-Sent Events)",
        description:
          "A `text/event-stream` of the run's events in commit order: `id: <seq>`, `event: <type>`, `data: <the same JSON as an item of GET /v1/runs/:id/events>`. Resume with the `Last-Event-ID` header (or `?after=<seq>`): no gap, no duplicate. A `: ping` comment keeps an idle stream alive. The stream ends after the run's terminal event (`run.completed`, `run.failed` or `run.cancelled`).",
        tags: ['runs'],
        params: runIdParams,
        querystring: streamQuerySchema,
        response: {
          400: errorBodySchema,
          404: errorBodySchema,
          429: errorBodySchema,
          503: errorBodySchema,
        },
      },
    },
    async function streamRunEvents(request, reply) {
      const runId = request.params.id;
      const after = resumePosition(request.headers['last-event-id'], request.query.after);
      const tenantId = principalOf(request).tenantId;
      const state = await deps.queries.streamState(tenantId, runId);
      if (!state) throw new FlowtraceError('not_found', `run ${runId} does not exist`);
      if (!deps.events) {
        throw new FlowtraceError(
          'dependency_unavailable',
          'live events are not available on this API process',
        );
      }
      // Counted from here (subscribing included), so that many requests at once cannot pass the limit.
      const streams = perTenant.get(tenantId) ?? 0;
      if (streams >= deps.maxStreamsPerTenant) {
        throw new FlowtraceError(
          'concurrency_limited',
          `this API process already streams ${streams} runs' events for your tenant; close some streams (the limit is ${deps.maxStreamsPerTenant})`,
        );
      }
      perTenant.set(tenantId, streams + 1);
      const stream: OpenStream = {
        tenantId,
        res: reply.raw,
        started: false,
        subscription: undefined,
        ended: false,
      };
      // Events delivered before the response starts are held here, in order; nothing after the terminal one.
      let pending: string[] | undefined = [];
      let terminal = false;
      const deliver = (events: readonly EventView[]) => {
        for (const event of events) {
          if (terminal) return;
          terminal = TERMINAL_EVENT_TYPES.has(event.type);
          if (pending) pending.push(sseFrame(event));
          else write(stream, sseFrame(event));
          if (terminal && !pending) end(stream);
        }
      };
      const finished = state.terminalSeq !== null && after >= state.terminalSeq;
      if (!finished) {
        try {
          stream.subscription = await deps.events.subscribe(runId, after, { onEvents: deliver });
        } catch (error) {
          end(stream);
          request.log.warn({ err: error, runId }, 'could not follow run events');
          throw new FlowtraceError(
            'dependency_unavailable',
            'live events are unavailable right now; retry shortly',
          );
        }
      }

      reply.hijack();
      stream.started = true;
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Tells nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      open.add(stream);
      startHeartbeat();
      // The client went away (ServerResponse 'close'; the request's own 'close' only means its body was read).
      res.on('close', () => end(stream));
      res.on('error', () => end(stream));
      if (res.destroyed) {
        end(stream);
        return;
      }
      const held = pending;
      pending = undefined;
      for (const frame of held) write(stream, frame);
      if (finished || terminal) end(stream);
    },
  );
}
