import { USAGE_DIMENSIONS, type UsageDimension, type UsageReport } from '@flowtrace/engine';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.ts';
import { errorBodySchema } from '../http/schemas.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_DAYS = 366;
const MAX_ROWS = 5_000;

const usageQuerySchema = z
  .object({
    from: z
      .string()
      .regex(DAY, 'from must be a date, YYYY-MM-DD')
      .optional()
      .describe('First UTC day (default: 29 days before `to`)'),
    to: z
      .string()
      .regex(DAY, 'to must be a date, YYYY-MM-DD')
      .optional()
      .describe('Last UTC day, inclusive (default: today)'),
    groupBy: z
      .string()
      .max(100)
      .optional()
      .describe(`Comma-separated, from ${USAGE_DIMENSIONS.join(', ')} (default: all four)`),
  })
  .strict();

const usageRowSchema = z.object({
  day: z.string().optional(),
  workflowId: z.uuid().nullable().optional(),
  workflowName: z.string().nullable().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  calls: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costUsd: z.number(),
  unpricedCalls: z.number().int(),
});

export const usageResponseSchema = z
  .object({
    tenantId: z.uuid(),
    from: z.string(),
    to: z.string(),
    groupBy: z.array(z.enum(USAGE_DIMENSIONS)),
    rows: z.array(usageRowSchema),
    totals: usageRowSchema,
    truncated: z
      .boolean()
      .describe(`More than ${MAX_ROWS} rows: narrow the range or group by fewer dimensions`),
  })
  .meta({ id: 'Usage' });

/**
 * `GET /v1/usage`: the tenant's model tokens and spend by UTC day, workflow, provider and model, from the
 * ledger (every call recorded, lost attempts' and document ingestion's included).
 */
export function usageRoutes(app: FastifyInstance, deps: { usage: UsageReport }): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/usage',
    {
      schema: {
        summary: "The tenant's model usage",
        description:
          'Calls, tokens and USD by UTC day, workflow, provider and model (or the dimensions in groupBy). Calls outside a run (document ingestion) have a null workflow.',
        tags: ['tenant'],
        querystring: usageQuerySchema,
        response: { 200: usageResponseSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async function readUsage(request) {
      const { tenantId } = principalOf(request);
      const to = request.query.to ?? new Date().toISOString().slice(0, 10);
      const from = request.query.from ?? shiftDays(to, -29);
      for (const [name, value] of [
        ['from', from],
        ['to', to],
      ] as const) {
        if (
          Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ||
          new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value
        ) {
          throw new FlowtraceError('invalid_request', `${name} ${value} is not a calendar date`);
        }
      }
      const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
      if (days < 1) throw new FlowtraceError('invalid_request', `from ${from} is after to ${to}`);
      if (days > MAX_DAYS) {
        throw new FlowtraceError(
          'invalid_request',
          `the range spans ${days} days; ask for at most ${MAX_DAYS}`,
        );
      }
      const groupBy = parseGroupBy(request.query.groupBy);
      const report = await deps.usage.query({ tenantId, from, to, groupBy, limit: MAX_ROWS });
      return { tenantId, from, to, groupBy, ...report };
    },
  );
}

function parseGroupBy(raw: string | undefined): UsageDimension[] {
  if (raw === undefined || raw.trim() === '') return [...USAGE_DIMENSIONS];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = names.filter((n) => !(USAGE_DIMENSIONS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new FlowtraceError(
      'invalid_request',
      `groupBy: unknown dimension ${unknown.map((u) => `"${u.slice(0, 40)}"`).join(', ')}; use ${USAGE_DIMENSIONS.join(', ')}`,
    );
  }
  return USAGE_DIMENSIONS.filter((d) => names.includes(d));
}

function shiftDays(day: string, by: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + by * 86_400_000).toISOString().slice(0, 10);
}
