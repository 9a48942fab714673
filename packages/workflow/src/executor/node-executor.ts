import type { NodeConfigByType, NodeType } from '../definition/node-configs.ts';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/** The logging surface executors use; pino's `Logger` satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** One model call, as written to `model_cost_logs`. */
export interface ModelCallRecord {
  provider: string;
  operation: 'chat' | 'embeddings';
  requestModel: string;
  responseModel: string | null;
  responseId: string | null;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  /** USD, or null when the model has no price in the pricing table. */
  costUsd: number | null;
  pricingVersion: string | null;
  latencyMs: number;
  finishReason: string | null;
}

/** One step of an agent loop, as written to `agent_trace_history`. */
export interface AgentStepRecord {
  step: number;
  /** The model's reasoning or reply text for this step (stored only when content capture allows). */
  thought: string | null;
  toolName: string | null;
  toolCallId: string | null;
  toolInput: JsonValue | null;
  observation: JsonValue | null;
  isError: boolean;
  inputTokens: number;
  outputTokens: number;
}

/** What a model call is expected to use, estimated before it is made. */
export interface ModelCallEstimate {
  /** The provider's configured name (as in `ModelCallRecord.provider`). */
  provider: string;
  operation: 'chat' | 'embeddings';
  requestModel: string;
  inputTokens: number;
  /** The request's output limit when it has one, else a default allowance. */
  outputTokens: number;
  /** USD at the current price, or null when the model has no price. */
  costUsd: number | null;
}

/** A model call's place in the ledger, taken before the call and settled by `recordModelCall`. */
export interface ModelCallReservation {
  readonly estimate: ModelCallEstimate;
}

/**
 * Where executors record what they did. The engine stamps each record with the trace and span ids of the
 * span active when it is recorded. Model calls are durable once `recordModelCall` resolves (executors
 * await it before going on); agent steps are written with the node's outcome.
 */
export interface ExecutionLedger {
  /**
   * Before a model call: checks the tenant's budgets and reserves the estimate against them, so that calls
   * made at the same time cannot overshoot together. Rejects with a `PermanentNodeError`
   * (`budget_exceeded`) when the call would exceed a budget; the call must then not be made. Resolves to
   * null when nothing needs reserving (no budgets).
   */
  reserveModelCall?(estimate: ModelCallEstimate): Promise<ModelCallReservation | null>;
  /**
   * Ends a reservation whose call got no answer: `failed` (the provider answered with an error: nothing
   * was used, the reservation is given back) or `abandoned` (cut off by a timeout or cancellation: the
   * provider may have billed it, so its estimate stays counted).
   */
  releaseModelCall?(reservation: ModelCallReservation, outcome: 'failed' | 'abandoned'): Promise<void>;
  /** Records a call the provider answered, settling its reservation when there is one. */
  recordModelCall(call: ModelCallRecord, reservation?: ModelCallReservation | null): void | Promise<void>;
  recordAgentStep(step: AgentStepRecord): void;
}

export interface NodeExecutionContext<T extends NodeType = NodeType> {
  readonly runId: string;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowName: string;
  readonly nodeId: string;
  readonly nodeType: T;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly config: NodeConfigByType[T];
  /** The run's input. */
  readonly input: JsonValue;
  /** Outputs of every node this one depends on, directly or transitively, by node id. */
  readonly upstream: Readonly<Record<string, JsonValue>>;
  /** Aborted on node timeout, run cancellation or worker shutdown; executors pass it to their I/O. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly ledger: ExecutionLedger;
}

/** Executes nodes of one type. Throw `PermanentNodeError` for failures a retry cannot fix. */
export interface NodeExecutor<T extends NodeType = NodeType> {
  readonly type: T;
  execute(ctx: NodeExecutionContext<T>): Promise<JsonValue>;
}
