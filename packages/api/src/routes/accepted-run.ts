import type { FastifyReply } from 'fastify';

/** What a route that starts a run (submission or replay) learns from the engine. */
export interface AcceptedRun {
  created: boolean;
  runId: string;
  workflowId: string;
  traceId: string;
  status: string;
}

/**
 * The headers and body of a 202 for a started run, the same for a submission and a replay: `location` of the
 * run, `idempotent-replayed` when an earlier request with the same key answered, and the trace link.
 */
export function acceptedRunBody(
  reply: FastifyReply,
  result: AcceptedRun,
  traceUrl: (traceId: string) => string,
) {
  if (!result.created) reply.header('idempotent-replayed', 'true');
  reply.header('location', `/v1/runs/${result.runId}`);
  return {
    runId: result.runId,
    workflowId: result.workflowId,
    traceId: result.traceId,
    status: result.status,
    traceUrl: traceUrl(result.traceId),
  };
}
