import type { RunReplayer } from '@flowtrace/engine';
import { carrierFromHeaders } from '@flowtrace/telemetry';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/authenticate.ts';
import { replayAcceptedSchema, replayBodySchema } from '../http/run-console-schemas.ts';
import { errorBodySchema, runIdParams } from '../http/schemas.ts';
import { acceptedRunBody } from './accepted-run.ts';

export interface ReplayRouteDeps {
  replayer: RunReplayer;
  traceUrl: (traceId: string) => string;
}

/** `POST /v1/runs/:id/replay`: a new run that reuses the completed upstream outputs of a finished run. */
export function replayRoutes(app: FastifyInstance, deps: ReplayRouteDeps): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/runs/:id/replay',
    {
      schema: {
        summary: 'Replay a finished run',
        description:
          "Starts a new run of the same workflow version and input that executes `fromNodes` (default: the failed and cancelled nodes), every node downstream of them and every node that did not complete, and takes the outputs of the other, completed nodes from this run without executing them. The replay has its own trace, linked to this run's `invoke_workflow` span; `GET /v1/runs/:id` shows `replayOf` and `replays` on both. 409 `run_not_finished` while the run is queued or running, `replay_node_not_found` for a node the workflow does not have, `nothing_to_replay` when every node completed and none is named.",
        tags: ['runs'],
        params: runIdParams,
        body: replayBodySchema.optional(),
        response: {
          202: replayAcceptedSchema,
          400: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async function replayRun(request, reply) {
      const principal = principalOf(request);
      const body = request.body ?? {};
      const result = await deps.replayer.replay({
        tenantId: principal.tenantId,
        apiKeyId: principal.apiKeyId,
        runId: request.params.id,
        fromNodes: body.fromNodes,
        idempotencyKey: body.idempotencyKey,
        traceContext: carrierFromHeaders(request.headers),
      });
      return reply
        .code(202)
        .send({ ...acceptedRunBody(reply, result, deps.traceUrl), replayOf: result.replayOf });
    },
  );
}
