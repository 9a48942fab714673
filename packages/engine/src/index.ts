export { configError, envBoolean, infrastructureEnv } from './config/env-fragments.ts';
export { LeaderLock } from './control/leader-lock.ts';
export {
  Reconciler,
  type ReconcilerDeps,
  type ReconcilerOptions,
  type TickResult,
} from './control/reconciler.ts';
export { RunStopChannel } from './control/run-stop-channel.ts';
export { RunTerminator } from './control/run-terminator.ts';
export {
  NodeDispatcher,
  type NodeToDispatch,
  type PreparedDispatch,
  predecessorLinks,
} from './dispatch/node-dispatcher.ts';
export { type AttemptUsage, attemptUsage } from './events/attempt-usage.ts';
export {
  RedisRunEventNotifier,
  type RunEventNotifier,
  runEventChannel,
} from './events/run-event-channel.ts';
export {
  RunEventHub,
  type RunEventHubOptions,
  type RunEventListener,
  type RunEventSubscription,
} from './events/run-event-hub.ts';
export { TERMINAL_EVENT_TYPES } from './events/run-event-reader.ts';
export {
  type BudgetViolation,
  budgetViolation,
  describeViolation,
  periodsOf,
  type UsageTotals,
} from './governance/budget.ts';
export { FairQueueOrder } from './governance/fair-queue-order.ts';
export { InflightGate, type InflightGateDeps } from './governance/inflight-gate.ts';
export { ingestionCalls, MeteredCalls, type MeteredCallsDeps } from './governance/metered-calls.ts';
export { ModelPriceStore, type StoredModelPrice } from './governance/model-price-store.ts';
export { RunAdmission, type RunAdmissionDeps } from './governance/run-admission.ts';
export { RunQuotas } from './governance/run-quotas.ts';
export { type CallOwner, type CallSlot, SpendLedger } from './governance/spend-ledger.ts';
export {
  aboveCeiling,
  effectiveLimits,
  LIMIT_NAMES,
  type LimitName,
  type LimitScope,
  NO_LIMITS,
  type TenantLimits,
  TenantLimitsStore,
  type TenantLimitsView,
  tenantLimitsSchema,
} from './governance/tenant-limits.ts';
export {
  USAGE_DIMENSIONS,
  type UsageDimension,
  UsageReport,
  type UsageReportQuery,
  type UsageRow,
} from './governance/usage-report.ts';
export { FleetMetrics, type NodeOutcomeLabel } from './metrics/fleet-metrics.ts';
export {
  decodeRunListCursor,
  encodeRunListCursor,
  type RunListCursor,
} from './queries/run-list-cursor.ts';
export {
  type RunListFilter,
  type RunListItem,
  RunQueries,
  type RunStreamState,
  type StepView,
} from './queries/run-queries.ts';
export {
  DEFAULT_RETRY,
  type NodeJobData,
  nodeJobId,
  nodeJobSchema,
  QUEUE_NAMES,
  queueNameFor,
} from './queue/catalogue.ts';
export { type NodeJob, NodeQueues } from './queue/node-queues.ts';
export {
  assertNoEviction,
  createRedis,
  type RedisConnection,
  type RedisConnectionOptions,
} from './queue/redis-connection.ts';
export { backoffDelay, type NodeRetrySettings, retrySettingsFor } from './queue/retry-settings.ts';
export { planReplay, type ReplayPlan } from './replay/replay-plan.ts';
export { type ReplaySource, ReplayStore } from './replay/replay-store.ts';
export {
  REPLAY_LINK_ATTRIBUTES,
  type ReplayRequest,
  type ReplayResult,
  RunReplayer,
} from './replay/run-replayer.ts';
export { AttemptLedger } from './runtime/attempt-ledger.ts';
export type { CommitHook, NodeOutcome } from './runtime/attempt-recorder.ts';
export { DeferredRunSpans } from './runtime/deferred-run-spans.ts';
export { ExecutorRegistry } from './runtime/executor-registry.ts';
export {
  type NodeJobEnvelope,
  NodeProcessor,
  type NodeProcessorDeps,
  type NodeProcessorOptions,
} from './runtime/node-processor.ts';
export { NodeWorkerPool, type NodeWorkerPoolOptions } from './runtime/node-worker-pool.ts';
export { RunSignals } from './runtime/run-signals.ts';
export { installShutdown, type ShutdownStep } from './runtime/shutdown.ts';
export { RunStoppedError, WorkerShutdownError } from './runtime/stop-reasons.ts';
export type { ClaimedNode } from './store/claim-node.ts';
export type { DispatchRecord } from './store/finish-node.ts';
export { NodeStateStore } from './store/node-state-store.ts';
export { RunControlStore, type StaleNode, type TerminateResult } from './store/run-control-store.ts';
export {
  type CreateRunResult,
  type EventView,
  type NewRun,
  RunRepository,
  type StoredWorkflow,
} from './store/run-repository.ts';
export { RunSpanGate } from './store/run-span-gate.ts';
export type { RunNodeView, RunView } from './store/run-view.ts';
export type { FinishedRun, RunTraceIdentity, StoredError } from './store/types.ts';
export { CompiledWorkflow, WorkflowCatalog } from './store/workflow-catalog.ts';
export { RunSubmitter, type SubmitRunRequest, type SubmitRunResult } from './submission/run-submitter.ts';
