import {
  aboveCeiling,
  periodsOf,
  type SpendLedger,
  type TenantLimits,
  type TenantLimitsStore,
  type TenantLimitsView,
  tenantLimitsSchema,
} from '@flowtrace/engine';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.ts';
import { errorBodySchema } from '../http/schemas.ts';

export interface TenantRouteDeps {
  limits: TenantLimitsStore;
  spend: SpendLedger;
}

const limitsSchema = z
  .object({
    dailySpendUsd: z.number().nullable().describe('USD of model calls per UTC day'),
    monthlySpendUsd: z.number().nullable().describe('USD of model calls per UTC calendar month'),
    dailyTokens: z.number().int().nullable(),
    monthlyTokens: z.number().int().nullable(),
    runsPerMinute: z.number().int().nullable().describe('Run submissions per minute (token bucket)'),
    maxConcurrentRuns: z.number().int().nullable().describe('Runs queued or running at once'),
    maxInflightNodes: z
      .number()
      .int()
      .nullable()
      .describe('Nodes handed to the queues and not finished; the rest wait in Postgres'),
  })
  .meta({ id: 'TenantLimits' });

const usageSchema = z.object({ spendUsd: z.number(), tokens: z.number().int(), resetsAt: z.string() });

export const tenantLimitsResponseSchema = z
  .object({
    tenantId: z.uuid(),
    limits: limitsSchema.describe('In effect: for each, the lower of the operator’s and the tenant’s own'),
    operator: limitsSchema.describe(
      'Set by the operator (`npm run tenant`); a ceiling the tenant cannot lift',
    ),
    tenant: limitsSchema.describe("The tenant's own, set with PUT"),
    usage: z.object({ day: usageSchema, month: usageSchema }),
  })
  .meta({ id: 'TenantLimitsView' });

const putBodySchema = z
  .record(z.string(), z.unknown())
  .describe(
    'The tenant’s own limits: dailySpendUsd, monthlySpendUsd, dailyTokens, monthlyTokens, runsPerMinute, maxConcurrentRuns, maxInflightNodes (a positive number, or null or absent for none). Replaces the previous set.',
  );

/**
 * `GET /v1/tenant/limits` and `PUT /v1/tenant/limits`: a tenant reads its budgets and quotas (with its
 * usage of the current day and month) and sets its own, which may only be stricter than the operator's.
 */
export function tenantRoutes(app: FastifyInstance, deps: TenantRouteDeps): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const view = async (tenantId: string, limits: TenantLimitsView) => {
    const usage = await deps.spend.usage(tenantId);
    const { nextDay, nextMonth } = periodsOf(new Date());
    return {
      tenantId,
      limits: limits.effective,
      operator: limits.operator,
      tenant: limits.tenant,
      usage: {
        day: { spendUsd: usage.daySpendUsd, tokens: usage.dayTokens, resetsAt: nextDay.toISOString() },
        month: {
          spendUsd: usage.monthSpendUsd,
          tokens: usage.monthTokens,
          resetsAt: nextMonth.toISOString(),
        },
      },
    };
  };

  typed.get(
    '/v1/tenant/limits',
    {
      schema: {
        summary: "The tenant's budgets and quotas",
        description:
          'The limits in effect, who set them, and the spend and tokens used this UTC day and month.',
        tags: ['tenant'],
        response: { 200: tenantLimitsResponseSchema, 401: errorBodySchema },
      },
    },
    async function readTenantLimits(request) {
      const { tenantId } = principalOf(request);
      return view(tenantId, await deps.limits.read(tenantId));
    },
  );

  typed.put(
    '/v1/tenant/limits',
    {
      schema: {
        summary: "Set the tenant's own budgets and quotas",
        description:
          'Replaces the limits the tenant set itself. Each may only be at most the operator’s; null or absent means none of its own.',
        tags: ['tenant'],
        body: putBodySchema,
        response: { 200: tenantLimitsResponseSchema, 400: errorBodySchema, 401: errorBodySchema },
      },
    },
    async function setTenantLimits(request) {
      const { tenantId } = principalOf(request);
      const parsed = tenantLimitsSchema.safeParse(request.body);
      if (!parsed.success) {
        const issues = parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
          .join('; ');
        throw new FlowtraceError('invalid_request', `invalid limits: ${issues}`);
      }
      const requested: TenantLimits = parsed.data;
      const current = await deps.limits.read(tenantId);
      const over = aboveCeiling(current.operator, requested);
      if (over.length > 0) {
        throw new FlowtraceError(
          'invalid_request',
          over
            .map((o) => `${o.limit} ${o.requested} is above the operator's limit of ${o.ceiling}`)
            .join('; '),
          { details: { aboveOperatorLimit: over } },
        );
      }
      return view(tenantId, await deps.limits.set(tenantId, 'tenant', requested));
    },
  );
}
