import { z } from 'zod';

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable, machine-readable error code'),
      message: z.string().describe('What went wrong and how to fix it'),
      nodeId: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** A definition is validated by the workflow package (distinct error codes per problem), not here. */
export const workflowDefinitionBody = z
  .record(z.string(), z.unknown())
  .describe(
    'A workflow definition: { name, description?, timeoutMs?, nodes: [{ id, type, dependsOn?, config, retry?, timeoutMs?, continueOnFailure? }] }. See docs/api.md.',
  );

export const workflowResponseSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    version: z.number().int(),
    definition: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .meta({ id: 'Workflow' });

export const createRunBodySchema = z
  .object({
    workflowId: z.uuid().optional().describe('A registered workflow version'),
    workflow: workflowDefinitionBody.optional().describe('An inline definition, registered on the fly'),
    input: z
      .unknown()
      .optional()
      .describe('The run input: a JSON object that templates read as input.<field>'),
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('Same key and tenant return the same run, however often the request is retried'),
  })
  .strict();

export const runAcceptedSchema = z
  .object({
    runId: z.uuid(),
    workflowId: z.uuid(),
    traceId: z.string(),
    status: z.string(),
    traceUrl: z.string(),
  })
  .meta({ id: 'RunAccepted' });

export const runIdParams = z.object({ id: z.uuid('run id must be a UUID') });
export const workflowIdParams = z.object({ id: z.uuid('workflow id must be a UUID') });

export const eventsQuerySchema = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("Return the events after this seq (the last event's seq, or `nextAfter`)"),
  limit: z.coerce.number().int().min(1).max(1_000).default(200),
});

const errorJson = z
  .object({
    code: z.string(),
    message: z.string(),
    nodeId: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .nullable();

export const runResponseSchema = z
  .object({
    id: z.uuid(),
    workflowId: z.uuid(),
    workflowName: z.string(),
    workflowVersion: z.number().int(),
    status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
    input: z.unknown(),
    output: z.unknown().nullable(),
    error: errorJson,
    idempotencyKey: z.string().nullable(),
    traceId: z.string(),
    traceUrl: z.string(),
    sampled: z
      .boolean()
      .describe("Whether the run's trace was sampled (exported); rows keep the trace id either way"),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    usage: z.object({
      modelCalls: z.number().int(),
      inputTokens: z.number().int(),
      outputTokens: z.number().int(),
      costUsd: z.number().nullable(),
    }),
    replayOf: z.uuid().nullable().describe('The run this one replays (POST /v1/runs/:id/replay)'),
    replays: z.array(z.uuid()).describe('Runs that replay this one, oldest first'),
    nodes: z.array(
      z.object({
        nodeId: z.string(),
        type: z.string(),
        status: z.string(),
        attempts: z.number().int(),
        maxAttempts: z.number().int(),
        output: z.unknown().nullable(),
        error: errorJson,
        queuedAt: z.string().nullable(),
        startedAt: z.string().nullable(),
        finishedAt: z.string().nullable(),
        durationMs: z.number().nullable(),
        spanId: z.string().nullable(),
        dependsOn: z.array(z.string()),
        usage: z
          .object({
            inputTokens: z.number().int(),
            outputTokens: z.number().int(),
            costUsd: z.number().nullable(),
          })
          .describe("Model usage of the node's attempts in this run"),
        reused: z
          .boolean()
          .describe("Completed by a replay with the replayed run's output, without executing"),
        input: z
          .unknown()
          .nullable()
          .describe(
            "The node's configuration as the run's workflow version stores it (prompt, URL, body, ..., defaults filled in), with templates such as {{input.x}} unrendered: the rendered values are not recorded",
          ),
      }),
    ),
  })
  .meta({ id: 'Run' });

export const eventsResponseSchema = z
  .object({
    events: z.array(
      z.object({
        id: z.number().int(),
        seq: z
          .number()
          .int()
          .describe("The event's position in its run, in commit order: page and resume by it"),
        type: z.string(),
        nodeId: z.string().nullable(),
        attempt: z.number().int().nullable(),
        message: z.string().nullable(),
        data: z.unknown().nullable(),
        traceId: z.string(),
        spanId: z.string().nullable(),
        createdAt: z.string(),
      }),
    ),
    nextAfter: z.number().int().nullable(),
  })
  .meta({ id: 'RunEvents' });

export const runCancelledSchema = z
  .object({ runId: z.uuid(), status: z.literal('cancelled') })
  .meta({ id: 'RunCancelled' });
