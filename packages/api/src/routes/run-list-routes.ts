import { decodeRunListCursor, type RunQueries } from '@flowtrace/engine';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/authenticate.ts';
import {
  listRunsQuerySchema,
  runListResponseSchema,
  stepsResponseSchema,
} from '../http/run-console-schemas.ts';
import { errorBodySchema, runIdParams } from '../http/schemas.ts';

export interface RunListRouteDeps {
  queries: RunQueries;
  traceUrl: (traceId: string) => string;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** `GET /v1/runs` (a tenant's runs, filtered, newest first, cursor-paged) and `GET /v1/runs/:id/steps`. */
export function runListRoutes(app: FastifyInstance, deps: RunListRouteDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/v1/runs',
    {
      schema: {
        summary: 'List runs',
        description:
          "The tenant's runs, newest first, filtered by status, workflow and creation time. Page with `cursor` = the previous page's `nextCursor`.",
        tags: ['runs'],
        querystring: listRunsQuerySchema,
        response: { 200: runListResponseSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async function listRuns(request) {
      const query = request.query;
      const after = query.cursor === undefined ? undefined : decodeRunListCursor(query.cursor);
      if (after === null) {
        throw new FlowtraceError(
          'invalid_request',
          'cursor is not one this API returned; pass `nextCursor` as is',
        );
      }
      const createdAfter = query.createdAfter === undefined ? undefined : new Date(query.createdAfter);
      const createdBefore = query.createdBefore === undefined ? undefined : new Date(query.createdBefore);
      const page = await deps.queries.listRuns(principalOf(request).tenantId, {
        ...(query.status ? { statuses: query.status } : {}),
        ...(query.workflowId ? { workflowId: query.workflowId } : {}),
        ...(query.workflowName ? { workflowName: query.workflowName } : {}),
        ...(createdAfter ? { createdAfter } : {}),
        ...(createdBefore ? { createdBefore } : {}),
        ...(after ? { after } : {}),
        limit: query.limit,
      });
      return {
        runs: page.runs.map((run) => ({
          ...run,
          createdAt: run.createdAt.toISOString(),
          startedAt: iso(run.startedAt),
          finishedAt: iso(run.finishedAt),
          traceUrl: deps.traceUrl(run.traceId),
        })),
        nextCursor: page.next,
      };
    },
  );

  typed.get(
    '/v1/runs/:id/steps',
    {
      schema: {
        summary: "A run's agent steps",
        description:
          'One row per agent step (`agent_trace_history`): its text when content capture allows, the tool call with its input and observation, tokens, and the span that recorded it.',
        tags: ['runs'],
        params: runIdParams,
        response: { 200: stepsResponseSchema, 404: errorBodySchema },
      },
    },
    async function listRunSteps(request) {
      const steps = await deps.queries.listSteps(principalOf(request).tenantId, request.params.id);
      if (!steps) throw new FlowtraceError('not_found', `run ${request.params.id} does not exist`);
      return { steps: steps.map((s) => ({ ...s, createdAt: s.createdAt.toISOString() })) };
    },
  );
}
