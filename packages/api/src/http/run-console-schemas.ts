import { z } from 'zod';
import { eventsResponseSchema } from './schemas.ts';

const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;

/** A query parameter that may be sent empty (`?status=`), which means the same as leaving it out. */
function optionalParam<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

const usageSchema = z.object({
  modelCalls: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costUsd: z.number().nullable(),
});

export const listRunsQuerySchema = z
  .object({
    status: optionalParam(z.string().max(100))
      .transform((value, ctx) => {
        if (value === undefined) return undefined;
        const statuses = value.split(',').map((s) => s.trim());
        const unknown = statuses.filter((s) => !(RUN_STATUSES as readonly string[]).includes(s));
        if (unknown.length > 0) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown status "${unknown[0]}"; use ${RUN_STATUSES.join(', ')} (comma-separated for several)`,
          });
          return z.NEVER;
        }
        return statuses as (typeof RUN_STATUSES)[number][];
      })
      .describe('One status, or several separated by commas'),
    workflowId: optionalParam(z.uuid('workflowId must be a UUID')).describe('Runs of this workflow version'),
    workflowName: optionalParam(z.string().max(200)).describe('Runs of any version of this workflow'),
    createdAfter: optionalParam(
      z.iso.datetime({ offset: true, message: 'createdAfter must be an ISO 8601 date-time' }),
    ).describe('Runs created at or after this time'),
    createdBefore: optionalParam(
      z.iso.datetime({ offset: true, message: 'createdBefore must be an ISO 8601 date-time' }),
    ).describe('Runs created before this time'),
    cursor: optionalParam(z.string().max(200)).describe('`nextCursor` of the previous page'),
    limit: optionalParam(z.coerce.number().int().min(1).max(200)).transform((value) => value ?? 50),
  })
  .strict();

export const runListResponseSchema = z
  .object({
    runs: z.array(
      z.object({
        id: z.uuid(),
        workflowId: z.uuid(),
        workflowName: z.string(),
        workflowVersion: z.number().int(),
        status: z.enum(RUN_STATUSES),
        createdAt: z.string(),
        startedAt: z.string().nullable(),
        finishedAt: z.string().nullable(),
        traceId: z.string(),
        traceUrl: z.string(),
        usage: usageSchema,
        replayOf: z.uuid().nullable().describe('The run this one replays'),
      }),
    ),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  })
  .meta({ id: 'RunList' });

export const stepsResponseSchema = z
  .object({
    steps: z.array(
      z.object({
        nodeId: z.string(),
        attempt: z.number().int(),
        step: z.number().int(),
        kind: z.enum(['tool_call', 'message']),
        content: z.string().nullable().describe("The model's text for the step, when content capture allows"),
        toolName: z.string().nullable(),
        toolCallId: z.string().nullable(),
        toolInput: z.unknown().nullable(),
        observation: z.unknown().nullable(),
        isError: z.boolean(),
        inputTokens: z.number().int(),
        outputTokens: z.number().int(),
        traceId: z.string(),
        spanId: z.string().nullable(),
        createdAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'RunSteps' });

/** One item of `GET /v1/runs/:id/events`, also the `data` of each event of the live stream. */
export const runEventSchema = eventsResponseSchema.shape.events.element;

export const streamQuerySchema = z
  .object({
    after: z.coerce
      .number()
      .int()
      .min(0)
      .max(2_147_483_647)
      .optional()
      .describe('Start after this seq (a `Last-Event-ID` header takes precedence)'),
  })
  .strict();

export const replayBodySchema = z
  .object({
    fromNodes: z
      .array(z.string().min(1).max(128))
      .min(1, 'fromNodes must name at least one node; leave it out to replay the failed and cancelled nodes')
      .max(200)
      .optional()
      .describe(
        'Nodes to execute again, with everything downstream (default: the failed and cancelled nodes)',
      ),
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('Same key and tenant return the same replay, however often the request is retried'),
  })
  .strict();

export const replayAcceptedSchema = z
  .object({
    runId: z.uuid(),
    workflowId: z.uuid(),
    traceId: z.string(),
    status: z.string(),
    traceUrl: z.string(),
    replayOf: z.uuid(),
  })
  .meta({ id: 'ReplayAccepted' });
