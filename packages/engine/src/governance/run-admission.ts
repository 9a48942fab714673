import { FlowtraceError, type Logger } from '@flowtrace/workflow';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { budgetViolation, describeViolation, hasUsageBudget } from './budget.ts';
import type { RunQuotas } from './run-quotas.ts';
import type { SpendLedger } from './spend-ledger.ts';
import type { TenantLimits, TenantLimitsStore } from './tenant-limits.ts';

export interface RunAdmissionDeps {
  limits: TenantLimitsStore;
  spend: SpendLedger;
  quotas: RunQuotas;
  metrics?: FleetMetrics | undefined;
  logger?: Logger | undefined;
}

/**
 * Decides whether a tenant may start a run, before it is stored: its spend and token budgets must not be
 * used up (402 `budget_exceeded`, with the numbers and when the budget resets), it must have fewer than
 * `maxConcurrentRuns` runs queued or running (429 `concurrency_limited`), and a token of its
 * `runsPerMinute` bucket (429 `rate_limited` with `Retry-After`). A tenant without limits is let through
 * without a single query.
 */
export class RunAdmission {
  readonly #deps: RunAdmissionDeps;

  constructor(deps: RunAdmissionDeps) {
    this.#deps = deps;
  }

  /**
   * Runs `create` (which stores the run with id `runId`) if the tenant's limits allow a new run. A
   * `create` that throws (including for an idempotent replay found meanwhile) gives the run's concurrency
   * slot back.
   */
  async admit<T>(tenantId: string, runId: string, create: () => Promise<T>): Promise<T> {
    const { quotas } = this.#deps;
    const effective = await this.assertWithinBudget(tenantId);
    const maxRuns = effective.maxConcurrentRuns;
    if (maxRuns !== null && !(await quotas.takeRunSlot(tenantId, runId, maxRuns))) {
      this.#refused(tenantId, 'maxConcurrentRuns');
      throw new FlowtraceError(
        'concurrency_limited',
        `the tenant already has ${maxRuns} runs queued or running (its maxConcurrentRuns); submit again when one finishes`,
        { details: { limit: 'maxConcurrentRuns', limitValue: maxRuns, retryAfterSeconds: 1 } },
      );
    }
    try {
      const perMinute = effective.runsPerMinute;
      if (perMinute !== null) {
        const token = await quotas.takeRunToken(tenantId, perMinute);
        if (!token.allowed) {
          this.#refused(tenantId, 'runsPerMinute');
          const retryAfterSeconds = Math.max(1, Math.ceil(token.retryAfterMs / 1000));
          throw new FlowtraceError(
            'rate_limited',
            `the tenant may start ${perMinute} runs per minute (its runsPerMinute); retry after ${retryAfterSeconds} s`,
            { details: { limit: 'runsPerMinute', limitValue: perMinute, retryAfterSeconds } },
          );
        }
      }
      return await create();
    } catch (error) {
      if (maxRuns !== null) await quotas.releaseRunSlot(tenantId, runId).catch(() => {});
      throw error;
    }
  }

  /**
   * Refuses with 402 `budget_exceeded` (the budget, the usage, when it resets, and `Retry-After`) when one
   * of the tenant's spend or token budgets is used up. Returns the tenant's limits.
   */
  async assertWithinBudget(tenantId: string, what: 'run' | 'ingestion' = 'run'): Promise<TenantLimits> {
    const { limits, spend } = this.#deps;
    const effective = await limits.effective(tenantId);
    if (!hasUsageBudget(effective)) return effective;
    const violation = budgetViolation(effective, await spend.usage(tenantId), new Date());
    if (violation) {
      this.#refused(tenantId, violation.limit);
      const message = describeViolation(violation, 'run');
      throw new FlowtraceError('budget_exceeded', what === 'run' ? message : `no ingestion: ${message}`, {
        details: { ...violation, retryAfterSeconds: secondsUntil(violation.resetsAt) },
      });
    }
    return effective;
  }

  #refused(tenantId: string, limit: string): void {
    this.#deps.metrics?.tenantLimitRejected(tenantId, limit, 'admission');
    this.#deps.logger?.info({ tenantId, limit }, 'run refused by a tenant limit');
  }
}

function secondsUntil(iso: string): number {
  return Math.max(1, Math.ceil((Date.parse(iso) - Date.now()) / 1000));
}
