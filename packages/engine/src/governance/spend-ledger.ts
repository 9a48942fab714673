import { type Sql, transaction } from '@flowtrace/db';
import type { ModelCallEstimate, ModelCallRecord } from '@flowtrace/workflow';
import { type Tracer, trace } from '@opentelemetry/api';
import { storableModelCall } from '../store/ledger-rows.ts';
import { retryTransient } from '../store/retry-transient.ts';
import { NO_BATCHING, WriteBatcher, type WriteBatcherOptions } from '../store/write-batcher.ts';
import { withDbSpan } from '../tracing/db-span.ts';
import { type BudgetViolation, budgetViolation, type UsageTotals } from './budget.ts';
import type { TenantLimits } from './tenant-limits.ts';

/** What made a model call: a node attempt, or an ingestion request (no run). */
export type CallOwner =
  | { kind: 'node'; runId: string; nodeId: string; attempt: number }
  | { kind: 'ingestion'; ingestionId: string };

/** One call's place in `model_cost_logs`: its owner and its order within it. */
export interface CallSlot {
  tenantId: string;
  owner: CallOwner;
  callIndex: number;
  /** The span active when the row is written. */
  traceId: string;
  spanId: string | null;
}

/** The UTC day of the transaction's clock, as the counters and the rows' `created_at` see it. */
const TODAY = "(now() at time zone 'utc')::date";

/**
 * The spend ledger: one `model_cost_logs` row per model call, written as soon as the provider has answered
 * (never held back until the node's outcome), keyed by (run, node, attempt, call index) or (ingestion,
 * call index) so that a repeated write is a no-op, with the tenant's daily counters
 * (`tenant_usage_daily`) moved in the same statement. A tenant with usage budgets reserves each call's
 * estimate first, under a lock on its day's counter, so that calls made at the same time by different
 * workers cannot overshoot together: the reservation's row counts its estimate until the answer settles it.
 */
export class SpendLedger {
  readonly #sql: Sql;
  readonly #tracer: Tracer;
  readonly #records: WriteBatcher;

  /**
   * Without a tracer (the CLI), the global one: a no-op unless an SDK is registered. With `batching`,
   * answered calls recorded at the same time are committed together (one lock on the tenant's day counter
   * per batch instead of one per call).
   */
  constructor(deps: { sql: Sql; tracer?: Tracer; batching?: WriteBatcherOptions }) {
    this.#sql = deps.sql;
    this.#tracer = deps.tracer ?? trace.getTracer('flowtrace-engine');
    this.#records = new WriteBatcher(
      { sql: this.#sql, tracer: this.#tracer },
      'record_model_call',
      deps.batching ?? NO_BATCHING,
    );
  }

  /** The tenant's usage in the current UTC day and month. */
  async usage(tenantId: string): Promise<UsageTotals> {
    const [row] = await this.#sql<
      { day_spend: string; day_tokens: string; month_spend: string; month_tokens: string }[]
    >`
      select coalesce(sum(spend_usd) filter (where day = ${this.#sql.unsafe(TODAY)}), 0) as day_spend,
             coalesce(sum(tokens) filter (where day = ${this.#sql.unsafe(TODAY)}), 0) as day_tokens,
             coalesce(sum(spend_usd), 0) as month_spend, coalesce(sum(tokens), 0) as month_tokens
      from tenant_usage_daily
      where tenant_id = ${tenantId}
        and day >= date_trunc('month', now() at time zone 'utc')::date and day <= ${this.#sql.unsafe(TODAY)}`;
    return {
      daySpendUsd: Number(row?.day_spend ?? 0),
      dayTokens: Number(row?.day_tokens ?? 0),
      monthSpendUsd: Number(row?.month_spend ?? 0),
      monthTokens: Number(row?.month_tokens ?? 0),
    };
  }

  /**
   * Reserves a call's estimate against the tenant's budgets: under a lock on today's counter, checks that
   * the estimate fits, then writes the call's row as `reserved` (holding the estimate) and adds the
   * estimate to the counter. Returns the budget the call would break instead, writing nothing.
   */
  reserve(
    slot: CallSlot,
    estimate: ModelCallEstimate,
    limits: TenantLimits,
  ): Promise<BudgetViolation | null> {
    return withDbSpan(this.#tracer, 'reserve_model_call', () =>
      retryTransient(() =>
        transaction(this.#sql, async (tx) => {
          // The upsert takes the row lock that serialises every reservation of this tenant and day.
          const [counter] = await tx<
            { spend_usd: string; tokens: string; month_before_spend: string; month_before_tokens: string }[]
          >`
            insert into tenant_usage_daily as u (tenant_id, day) values (${slot.tenantId}, ${tx.unsafe(TODAY)})
            on conflict (tenant_id, day) do update set spend_usd = u.spend_usd
            returning u.spend_usd, u.tokens,
              (select coalesce(sum(m.spend_usd), 0) from tenant_usage_daily m
                where m.tenant_id = u.tenant_id and m.day < u.day
                  and m.day >= date_trunc('month', now() at time zone 'utc')::date) as month_before_spend,
              (select coalesce(sum(m.tokens), 0) from tenant_usage_daily m
                where m.tenant_id = u.tenant_id and m.day < u.day
                  and m.day >= date_trunc('month', now() at time zone 'utc')::date) as month_before_tokens`;
          const daySpend = Number(counter?.spend_usd ?? 0);
          const dayTokens = Number(counter?.tokens ?? 0);
          const usage: UsageTotals = {
            daySpendUsd: daySpend,
            dayTokens,
            monthSpendUsd: daySpend + Number(counter?.month_before_spend ?? 0),
            monthTokens: dayTokens + Number(counter?.month_before_tokens ?? 0),
          };
          const tokens = estimate.inputTokens + estimate.outputTokens;
          const violation = budgetViolation(limits, usage, new Date(), {
            spendUsd: estimate.costUsd,
            tokens,
          });
          if (violation) return violation;
          const row = rowOf(slot, {
            provider: estimate.provider,
            operation: estimate.operation,
            requestModel: estimate.requestModel,
            inputTokens: estimate.inputTokens,
            outputTokens: estimate.outputTokens,
            costUsd: estimate.costUsd,
          });
          await tx`
            with reserved as (
              insert into model_cost_logs ${tx({ ...row, status: 'reserved' })}
              on conflict do nothing
              returning 1
            )
            update tenant_usage_daily
            set spend_usd = spend_usd + ${estimate.costUsd ?? 0}, tokens = tokens + ${tokens}
            where tenant_id = ${slot.tenantId} and day = ${tx.unsafe(TODAY)} and exists (select 1 from reserved)`;
          return null;
        }),
      ),
    );
  }

  /**
   * Records an answered call. A reserved row is settled to the actual usage (the counter moves by the
   * difference); without one the row is inserted. Either way a repeated write changes nothing.
   */
  record(slot: CallSlot, call: ModelCallRecord, reserved: boolean): Promise<void> {
    // Keyed by tenant first: a batch takes the tenants' day counters in one order.
    const key = `${slot.tenantId}:${slot.owner.kind === 'node' ? slot.owner.runId : slot.owner.ingestionId}`;
    return withDbSpan(this.#tracer, 'record_model_call', () =>
      retryTransient(() =>
        this.#records.write(key, async (sql) => {
          if (reserved && (await this.#settle(sql, slot, call))) return;
          await this.#insert(sql, slot, call);
        }),
      ),
    );
  }

  async #settle(sql: Sql, slot: CallSlot, call: ModelCallRecord): Promise<boolean> {
    const row = rowOf(slot, call);
    const rows = await sql`
      with previous as (
        select id, cost_usd, input_tokens + output_tokens as tokens, (created_at at time zone 'utc')::date as day
        from model_cost_logs
        where ${ownerCondition(sql, slot)} and call_index = ${slot.callIndex} and status in ('reserved', 'abandoned')
      ),
      settled as (
        update model_cost_logs m
        set status = 'settled', provider = ${row.provider}, response_model = ${row.response_model},
            response_id = ${row.response_id}, input_tokens = ${row.input_tokens}, output_tokens = ${row.output_tokens},
            cached_input_tokens = ${row.cached_input_tokens}, reasoning_tokens = ${row.reasoning_tokens},
            cost_usd = ${row.cost_usd}, pricing_version = ${row.pricing_version}, latency_ms = ${row.latency_ms},
            finish_reason = ${row.finish_reason}, trace_id = ${row.trace_id}, span_id = ${row.span_id}
        from previous p where m.id = p.id
        returning p.day, p.cost_usd as old_cost, p.tokens as old_tokens, m.cost_usd as new_cost,
          m.input_tokens + m.output_tokens as new_tokens
      )
      update tenant_usage_daily u
      set spend_usd = u.spend_usd + coalesce(s.new_cost, 0) - coalesce(s.old_cost, 0),
          tokens = u.tokens + s.new_tokens - s.old_tokens
      from settled s where u.tenant_id = ${slot.tenantId} and u.day = s.day
      returning 1`;
    return rows.length > 0;
  }

  async #insert(sql: Sql, slot: CallSlot, call: ModelCallRecord): Promise<void> {
    await sql`
      with inserted as (
        insert into model_cost_logs ${sql(rowOf(slot, call))}
        on conflict do nothing
        returning cost_usd, input_tokens + output_tokens as tokens, (created_at at time zone 'utc')::date as day
      )
      insert into tenant_usage_daily as u (tenant_id, day, spend_usd, tokens)
      select ${slot.tenantId}, day, coalesce(cost_usd, 0), tokens from inserted
      on conflict (tenant_id, day) do update
      set spend_usd = u.spend_usd + excluded.spend_usd, tokens = u.tokens + excluded.tokens`;
  }

  /**
   * Ends a reservation whose call got no answer: `failed` deletes it and gives its estimate back;
   * `abandoned` keeps it counted (the provider may have billed a call cut off mid-way).
   */
  release(
    slot: Pick<CallSlot, 'tenantId' | 'owner' | 'callIndex'>,
    outcome: 'failed' | 'abandoned',
  ): Promise<void> {
    const sql = this.#sql;
    return retryTransient(async () => {
      if (outcome === 'abandoned') {
        await sql`
          update model_cost_logs set status = 'abandoned'
          where ${ownerCondition(sql, slot)} and call_index = ${slot.callIndex} and status = 'reserved'`;
        return;
      }
      await sql`
        with released as (
          delete from model_cost_logs
          where ${ownerCondition(sql, slot)} and call_index = ${slot.callIndex} and status = 'reserved'
          returning cost_usd, input_tokens + output_tokens as tokens, (created_at at time zone 'utc')::date as day
        )
        update tenant_usage_daily u
        set spend_usd = u.spend_usd - coalesce(r.cost_usd, 0), tokens = u.tokens - r.tokens
        from released r where u.tenant_id = ${slot.tenantId} and u.day = r.day`;
    });
  }

  /**
   * Marks the rows of an attempt that was lost with its worker: every row gets `attempt_lost`, and a call
   * still reserved (its answer never recorded) becomes `abandoned`, its estimate staying counted.
   */
  async markAttemptLost(runId: string, nodeId: string, attempt: number): Promise<number> {
    const rows = await this.#sql`
      update model_cost_logs
      set attempt_lost = true, status = case when status = 'reserved' then 'abandoned' else status end
      where run_id = ${runId} and node_id = ${nodeId} and attempt = ${attempt} and not attempt_lost
      returning 1`;
    return rows.length;
  }
}

function ownerCondition(sql: Sql, slot: Pick<CallSlot, 'owner'>) {
  const owner = slot.owner;
  return owner.kind === 'node'
    ? sql`run_id = ${owner.runId} and node_id = ${owner.nodeId} and attempt = ${owner.attempt}`
    : sql`ingestion_id = ${owner.ingestionId}`;
}

type RowFields = Pick<
  ModelCallRecord,
  'provider' | 'operation' | 'requestModel' | 'inputTokens' | 'outputTokens' | 'costUsd'
> &
  Partial<ModelCallRecord>;

/** A `model_cost_logs` row (snake_case columns) for a call or an estimate. */
function rowOf(slot: CallSlot, fields: RowFields) {
  // Provider-supplied text and counts, made storable (a refused write would lose the answered call).
  const call = storableModelCall(fields);
  const owner = slot.owner;
  return {
    run_id: owner.kind === 'node' ? owner.runId : null,
    node_id: owner.kind === 'node' ? owner.nodeId : null,
    attempt: owner.kind === 'node' ? owner.attempt : null,
    ingestion_id: owner.kind === 'ingestion' ? owner.ingestionId : null,
    tenant_id: slot.tenantId,
    call_index: slot.callIndex,
    operation: call.operation,
    provider: call.provider,
    request_model: call.requestModel,
    response_model: call.responseModel ?? null,
    response_id: call.responseId ?? null,
    input_tokens: call.inputTokens,
    output_tokens: call.outputTokens,
    cached_input_tokens: call.cachedInputTokens ?? 0,
    reasoning_tokens: call.reasoningTokens ?? 0,
    cost_usd: call.costUsd === null ? null : call.costUsd.toFixed(10),
    pricing_version: call.pricingVersion ?? null,
    latency_ms: Math.round(call.latencyMs ?? 0),
    finish_reason: call.finishReason ?? null,
    trace_id: slot.traceId,
    span_id: slot.spanId,
  };
}
