import type { RunRepository, RunSubmitter, RunTerminator, RunView } from '@flowtrace/engine';
import { carrierFromHeaders } from '@flowtrace/telemetry';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/authenticate.ts';
import {
  createRunBodySchema,
  errorBodySchema,
  eventsQuerySchema,
  eventsResponseSchema,
  runAcceptedSchema,
  runCancelledSchema,
  runIdParams,
  runResponseSchema,
} from '../http/schemas.ts';
import { acceptedRunBody } from './accepted-run.ts';
import { toEventItem } from './event-item.ts';

export interface RunRouteDeps {
  repository: RunRepository;
  submitter: RunSubmitter;
  terminator: RunTerminator;
  traceUrl: (traceId: string) => string;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function toRunResponse(run: RunView, traceUrl: (traceId: string) => string) {
  return {
    id: run.id,
    workflowId: run.workflowId,
    workflowName: run.workflowName,
    workflowVersion: run.workflowVersion,
    status: run.status as 'queued' | 'running' | 'completed' | 'failed' | 'cancelled',
    input: run.input,
    output: run.output,
    error: run.error,
    idempotencyKey: run.idempotencyKey,
    traceId: run.traceId,
    traceUrl: traceUrl(run.traceId),
    sampled: run.sampled,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    usage: run.usage,
    replayOf: run.replayOf,
    replays: run.replays,
    nodes: run.nodes.map((n) => ({
      ...n,
      queuedAt: iso(n.queuedAt),
      startedAt: iso(n.startedAt),
      finishedAt: iso(n.finishedAt),
      durationMs: n.startedAt && n.finishedAt ? n.finishedAt.getTime() - n.startedAt.getTime() : null,
    })),
  };
}

export function runRoutes(app: FastifyInstance, deps: RunRouteDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.post(
    '/v1/runs',
    {
      schema: {
        summary: 'Start a run',
        description:
          "Stores the run and enqueues its first nodes. The run joins the caller's trace when a traceparent header is sent.",
        tags: ['runs'],
        body: createRunBodySchema,
        response: {
          202: runAcceptedSchema,
          400: errorBodySchema,
          401: errorBodySchema,
          402: errorBodySchema.describe('budget_exceeded: a spend or token budget of the tenant is used up'),
          404: errorBodySchema,
          409: errorBodySchema,
          429: errorBodySchema.describe('rate_limited or concurrency_limited, with Retry-After'),
        },
      },
    },
    async function startRun(request, reply) {
      const principal = principalOf(request);
      const body = request.body;
      if ((body.workflowId === undefined) === (body.workflow === undefined)) {
        throw new FlowtraceError(
          'invalid_request',
          'send exactly one of "workflowId" (a registered workflow) or "workflow" (an inline definition)',
        );
      }
      const result = await deps.submitter.submit({
        tenantId: principal.tenantId,
        apiKeyId: principal.apiKeyId,
        workflowId: body.workflowId,
        workflow: body.workflow,
        input: body.input,
        idempotencyKey: body.idempotencyKey,
        traceContext: carrierFromHeaders(request.headers),
      });
      return reply.code(202).send(acceptedRunBody(reply, result, deps.traceUrl));
    },
  );

  typed.get(
    '/v1/runs/:id',
    {
      schema: {
        summary: 'Read a run',
        description:
          'Status, per-node status, attempts, timings, outputs and errors, token usage and cost, and the trace.',
        tags: ['runs'],
        params: runIdParams,
        response: { 200: runResponseSchema, 404: errorBodySchema },
      },
    },
    async function readRun(request) {
      const run = await deps.repository.getRun(principalOf(request).tenantId, request.params.id);
      if (!run) throw new FlowtraceError('not_found', `run ${request.params.id} does not exist`);
      return toRunResponse(run, deps.traceUrl);
    },
  );

  typed.get(
    '/v1/runs/:id/events',
    {
      schema: {
        summary: "A run's lifecycle events",
        tags: ['runs'],
        params: runIdParams,
        querystring: eventsQuerySchema,
        response: { 200: eventsResponseSchema, 404: errorBodySchema },
      },
    },
    async function listRunEvents(request) {
      const { after, limit } = request.query;
      const events = await deps.repository.listEvents(principalOf(request).tenantId, request.params.id, {
        afterSeq: after,
        limit,
      });
      if (!events) throw new FlowtraceError('not_found', `run ${request.params.id} does not exist`);
      return {
        events: events.map(toEventItem),
        nextAfter: events.length === limit ? (events.at(-1)?.seq ?? null) : null,
      };
    },
  );

  typed.post(
    '/v1/runs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a run',
        description:
          'Queued nodes never start; running nodes are aborted (their executors get an aborted signal). The run ends cancelled.',
        tags: ['runs'],
        params: runIdParams,
        response: { 202: runCancelledSchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async function cancelRun(request, reply) {
      const result = await deps.terminator.cancel(principalOf(request).tenantId, request.params.id);
      switch (result.outcome) {
        case 'terminated':
          return reply.code(202).send({ runId: request.params.id, status: 'cancelled' as const });
        case 'already_finished':
          throw new FlowtraceError(
            'run_not_cancellable',
            `run ${request.params.id} is already ${result.status}`,
            {
              details: { status: result.status },
            },
          );
        case 'not_found':
          throw new FlowtraceError('not_found', `run ${request.params.id} does not exist`);
        default:
          return assertNever(result);
      }
    },
  );
}

function assertNever(value: never): never {
  throw new Error(`unexpected result ${JSON.stringify(value)}`);
}
