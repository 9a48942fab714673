import { randomBytes, randomUUID } from 'node:crypto';
import type {
  ExecutionLedger,
  Logger,
  ModelCallEstimate,
  ModelCallRecord,
  ModelCallReservation,
} from '@flowtrace/workflow';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { budgetError, hasUsageBudget } from './budget.ts';
import type { CallOwner, CallSlot, SpendLedger } from './spend-ledger.ts';
import type { TenantLimitsStore } from './tenant-limits.ts';

export interface MeteredCallsDeps {
  spend: SpendLedger;
  limits: TenantLimitsStore;
  metrics?: FleetMetrics | undefined;
  logger?: Logger | undefined;
}

/**
 * The model-call side of a ledger for one owner (a node attempt or an ingestion request): reserves against
 * the tenant's budgets when it has any, and writes each answered call at once. Call indexes are handed out
 * in order, so an owner's calls never collide and a repeated write of one is a no-op.
 */
export class MeteredCalls
  implements Pick<ExecutionLedger, 'reserveModelCall' | 'releaseModelCall' | 'recordModelCall'>
{
  readonly #deps: MeteredCallsDeps;
  readonly #tenantId: string;
  readonly #owner: CallOwner;
  readonly #correlation: () => { traceId: string; spanId: string | null };
  readonly #nodeId: string;
  readonly #slots = new WeakMap<ModelCallReservation, number>();
  #nextCall = 0;

  constructor(
    deps: MeteredCallsDeps,
    ref: {
      tenantId: string;
      owner: CallOwner;
      /** The trace and span to stamp on a row: the active span when it is written. */
      correlation: () => { traceId: string; spanId: string | null };
    },
  ) {
    this.#deps = deps;
    this.#tenantId = ref.tenantId;
    this.#owner = ref.owner;
    this.#correlation = ref.correlation;
    this.#nodeId = ref.owner.kind === 'node' ? ref.owner.nodeId : 'ingestion';
  }

  /** Calls recorded or reserved so far. */
  get calls(): number {
    return this.#nextCall;
  }

  async reserveModelCall(estimate: ModelCallEstimate): Promise<ModelCallReservation | null> {
    const limits = await this.#deps.limits.effective(this.#tenantId);
    if (!hasUsageBudget(limits)) return null;
    const callIndex = this.#nextCall++;
    const violation = await this.#deps.spend.reserve(this.#slot(callIndex), estimate, limits);
    if (violation) {
      this.#deps.metrics?.tenantLimitRejected(this.#tenantId, violation.limit, 'model_call');
      this.#deps.logger?.warn(
        { tenantId: this.#tenantId, budget: violation },
        'model call refused: it would exceed the tenant budget',
      );
      throw budgetError(violation, this.#nodeId);
    }
    const reservation: ModelCallReservation = { estimate };
    this.#slots.set(reservation, callIndex);
    return reservation;
  }

  async releaseModelCall(reservation: ModelCallReservation, outcome: 'failed' | 'abandoned'): Promise<void> {
    const callIndex = this.#slots.get(reservation);
    if (callIndex === undefined) return;
    this.#slots.delete(reservation);
    await this.#deps.spend.release(this.#slot(callIndex), outcome);
  }

  async recordModelCall(call: ModelCallRecord, reservation?: ModelCallReservation | null): Promise<void> {
    const reserved = reservation ? this.#slots.get(reservation) : undefined;
    if (reservation) this.#slots.delete(reservation);
    const callIndex = reserved ?? this.#nextCall++;
    try {
      await this.#deps.spend.record(this.#slot(callIndex), call, reserved !== undefined);
    } catch (error) {
      // Postgres stayed unreachable past the retry budget: say what was spent before failing the attempt.
      this.#deps.logger?.error(
        { err: error, tenantId: this.#tenantId, owner: this.#owner, callIndex, call },
        'could not record an answered model call',
      );
      throw error;
    }
    this.#deps.metrics?.tenantUsage(this.#tenantId, {
      costUsd: call.costUsd ?? 0,
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      operation: call.operation,
    });
  }

  #slot(callIndex: number): CallSlot {
    return { tenantId: this.#tenantId, owner: this.#owner, callIndex, ...this.#correlation() };
  }
}

/**
 * The ledger of one ingestion request (`POST /v1/collections/:name/documents`): its embedding calls are
 * reserved and recorded like a node's, under a fresh ingestion id, stamped with the active span (the
 * request's trace) or, without telemetry, a trace id of their own.
 */
export function ingestionCalls(deps: MeteredCallsDeps, tenantId: string): MeteredCalls {
  const own = { traceId: randomBytes(16).toString('hex'), spanId: null };
  return new MeteredCalls(deps, {
    tenantId,
    owner: { kind: 'ingestion', ingestionId: randomUUID() },
    correlation: () => {
      const active = trace.getActiveSpan()?.spanContext();
      return active && isSpanContextValid(active) ? { traceId: active.traceId, spanId: active.spanId } : own;
    },
  });
}
