import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { runs } from './runs.ts';

/**
 * Rows that correlate with the run's trace. Each carries the trace id and the id of the span that wrote
 * it, indexed by trace id, so one trace id finds every row of a run and every row links to its span.
 * Each also has a natural key per node attempt, so a retried or re-driven write never duplicates.
 */
const correlation = () => ({
  traceId: text('trace_id').notNull(),
  spanId: text('span_id'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export const eventLogs = pgTable(
  'event_logs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    nodeId: text('node_id'),
    attempt: integer('attempt'),
    /** `run.queued`, `run.completed`, `node.started`, `node.retried`, ... */
    type: text('type').notNull(),
    /**
     * The event's position in its run, in commit order: every writer of a run's events holds the run's row
     * lock from taking the next number (`runs.event_seq`) until it commits, so a reader that has seen `seq`
     * n has seen every event before it. Readers page by it (`id` is assigned before commit, in another order).
     */
    seq: integer('seq').notNull(),
    message: text('message'),
    data: jsonb('data'),
    /** `type` + node + attempt: the same event is recorded once even when its writer runs twice. */
    dedupeKey: text('dedupe_key').notNull(),
    ...correlation(),
  },
  (t) => [
    uniqueIndex('event_logs_run_dedupe_idx').on(t.runId, t.dedupeKey),
    uniqueIndex('event_logs_run_seq_idx').on(t.runId, t.seq),
    index('event_logs_trace_idx').on(t.traceId),
  ],
);

export const agentTraceHistory = pgTable(
  'agent_trace_history',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    nodeId: text('node_id').notNull(),
    attempt: integer('attempt').notNull(),
    step: integer('step').notNull(),
    thought: text('thought'),
    toolName: text('tool_name'),
    toolCallId: text('tool_call_id'),
    toolInput: jsonb('tool_input'),
    observation: jsonb('observation'),
    isError: boolean('is_error').notNull().default(false),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    ...correlation(),
  },
  (t) => [
    uniqueIndex('agent_trace_history_step_idx').on(t.runId, t.nodeId, t.attempt, t.step),
    index('agent_trace_history_trace_idx').on(t.traceId),
  ],
);

export const modelCostLogs = pgTable(
  'model_cost_logs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** The run whose node made the call; null for calls outside a run (document ingestion). */
    runId: uuid('run_id').references(() => runs.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    nodeId: text('node_id'),
    attempt: integer('attempt'),
    /** The ingestion request that made the call (`POST /v1/collections/:name/documents`), outside any run. */
    ingestionId: uuid('ingestion_id'),
    /** Order of the call within the node attempt (an agent makes several) or the ingestion request. */
    callIndex: integer('call_index').notNull(),
    /**
     * `settled`: the provider answered and the row holds the actual usage. `reserved`: the call is in flight
     * and the row holds its estimate (a tenant with budgets reserves before calling). `abandoned`: a reserved
     * call whose worker died before it settled; its estimate stays counted.
     */
    status: text('status').notNull().default('settled'),
    /** The attempt that made the call was lost with its worker (the node ran again). */
    attemptLost: boolean('attempt_lost').notNull().default(false),
    operation: text('operation').notNull(),
    provider: text('provider').notNull(),
    requestModel: text('request_model').notNull(),
    responseModel: text('response_model'),
    responseId: text('response_id'),
    inputTokens: integer('input_tokens').notNull(),
    outputTokens: integer('output_tokens').notNull(),
    cachedInputTokens: integer('cached_input_tokens').notNull().default(0),
    reasoningTokens: integer('reasoning_tokens').notNull().default(0),
    /** USD; null when the model has no price in the pricing table. */
    costUsd: numeric('cost_usd', { precision: 20, scale: 10 }),
    pricingVersion: text('pricing_version'),
    latencyMs: integer('latency_ms').notNull(),
    finishReason: text('finish_reason'),
    ...correlation(),
  },
  (t) => [
    uniqueIndex('model_cost_logs_call_idx').on(t.runId, t.nodeId, t.attempt, t.callIndex),
    uniqueIndex('model_cost_logs_ingestion_call_idx')
      .on(t.ingestionId, t.callIndex)
      .where(sql`${t.ingestionId} is not null`),
    index('model_cost_logs_trace_idx').on(t.traceId),
    index('model_cost_logs_tenant_created_idx').on(t.tenantId, t.createdAt),
    // Calls still in flight: few at any time, looked up by the reconciler among millions of settled rows.
    index('model_cost_logs_reserved_idx').on(t.runId).where(sql`${t.status} = 'reserved'`),
    check(
      'model_cost_logs_owner_check',
      sql`(${t.runId} is not null and ${t.nodeId} is not null and ${t.attempt} is not null) or ${t.ingestionId} is not null`,
    ),
  ],
);
