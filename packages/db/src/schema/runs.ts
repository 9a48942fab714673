import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { nodeStatus, runStatus } from './enums.ts';
import { apiKeys, tenants } from './tenants.ts';
import { workflows } from './workflows.ts';

export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    workflowId: uuid('workflow_id')
      .notNull()
      .references(() => workflows.id),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id, { onDelete: 'set null' }),
    status: runStatus('status').notNull(),
    input: jsonb('input').notNull(),
    /** Outputs of the run's sink nodes, by node id. */
    output: jsonb('output'),
    error: jsonb('error'),
    idempotencyKey: text('idempotency_key'),
    /** SHA-256 of the request an idempotency key was first used with; another request with it is a conflict. */
    requestHash: text('request_hash'),
    /** The run's trace: `span_id` is the `invoke_workflow` span, chosen at submission. */
    traceId: text('trace_id').notNull(),
    spanId: text('span_id').notNull(),
    /** The span that submitted the run (the API's server span), parent of `invoke_workflow`. */
    parentSpanId: text('parent_span_id'),
    traceFlags: smallint('trace_flags').notNull(),
    traceState: text('trace_state'),
    nodesTotal: integer('nodes_total').notNull(),
    /** Nodes that reached completed, skipped or (with continueOnFailure) failed. */
    nodesFinished: integer('nodes_finished').notNull().default(0),
    deadlineAt: timestamp('deadline_at', { withTimezone: true, precision: 3 }),
    /** The `seq` of the run's latest event (see `event_logs.seq`). */
    eventSeq: integer('event_seq').notNull().default(0),
    /** The run this one replays (`POST /v1/runs/:id/replay`): same workflow version and input. */
    replayOf: uuid('replay_of').references((): AnyPgColumn => runs.id, { onDelete: 'set null' }),
    /** Span links of the run's `invoke_workflow` span (a replay links to the run it replays). */
    spanLinks: jsonb('span_links'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }),
    finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex('runs_tenant_idempotency_idx')
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index('runs_trace_idx').on(t.traceId),
    index('runs_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('runs_active_idx').on(t.status, t.createdAt).where(sql`${t.status} in ('queued', 'running')`),
    index('runs_replay_of_idx').on(t.replayOf).where(sql`${t.replayOf} is not null`),
  ],
);

export const nodeRuns = pgTable(
  'node_runs',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    nodeId: text('node_id').notNull(),
    type: text('type').notNull(),
    status: nodeStatus('status').notNull(),
    dependsOn: text('depends_on').array().notNull(),
    /** Dependencies not yet finished; the node is dispatched when it reaches 0. */
    remainingDeps: integer('remaining_deps').notNull(),
    /** Attempts started so far. */
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    /**
     * Times the reconciler has re-dispatched the node (lost job, lost worker). Past its limit it fails the
     * node instead (`redrive_limit_exceeded`), so that no node is executed without bound.
     */
    redrives: integer('redrives').notNull().default(0),
    output: jsonb('output'),
    error: jsonb('error'),
    /** Completed in a replay with the output of the replayed run's node, without executing. */
    reused: boolean('reused').notNull().default(false),
    /** The BullMQ job id of the node's current dispatch. */
    jobId: text('job_id'),
    /** W3C carrier of the span that dispatched the node, so that a re-dispatch continues the run's trace. */
    dispatchCarrier: jsonb('dispatch_carrier'),
    /** The `process` span of the latest attempt. */
    traceId: text('trace_id'),
    spanId: text('span_id'),
    queuedAt: timestamp('queued_at', { withTimezone: true, precision: 3 }),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }),
    /**
     * Renewed by the worker executing the node. The reconciler re-drives a running node only once this is
     * stale, so a node is never executed by two workers at once.
     */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, precision: 3 }),
    finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.nodeId] }),
    index('node_runs_active_idx').on(t.status, t.queuedAt).where(sql`${t.status} in ('queued', 'running')`),
  ],
);
