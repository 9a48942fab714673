import type {
  ExecutionLedger,
  HttpTool,
  JsonSchemaObject,
  JsonValue,
  LlmTool,
  Logger,
  RagTool,
  TemplateScope,
} from '@flowtrace/workflow';

/** What a tool runner gets besides the tool's configuration and the model's arguments. */
export interface AgentToolContext {
  readonly runId: string;
  readonly tenantId: string;
  readonly nodeId: string;
  /** The node's template scope (`input`, `nodes.<id>.output`, `run`); runners add the model's `args`. */
  readonly scope: TemplateScope;
  /** The node's signal: runners pass it to their I/O so that cancellation stops a tool mid-call. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * Where a tool records the model calls it makes (an `llm` tool's chat call, a `rag` tool's query
   * embedding). Each call reserves against the tenant's budgets first, and each record is written to
   * `model_cost_logs` and counts toward the agent's budget.
   */
  readonly ledger: Pick<ExecutionLedger, 'recordModelCall' | 'reserveModelCall' | 'releaseModelCall'>;
}

/**
 * Runs one kind of tool. Called inside the `execute_tool` span (the active span), so spans a runner
 * opens nest under it. Returns the observation fed back to the model; throws when the tool failed: the
 * agent loop turns the error's message into a `{ "error": ... }` tool result and carries on, unless the
 * node's signal was aborted.
 */
export interface AgentToolRunner<T> {
  run(tool: T, args: Record<string, JsonValue>, ctx: AgentToolContext): Promise<JsonValue>;
  /**
   * The JSON Schema of the tool's arguments when the configuration does not give one and it must be
   * looked up (an `llm` tool that runs another workflow's prompt). Called once per node attempt.
   */
  parameters?(
    tool: T,
    ctx: Pick<AgentToolContext, 'tenantId' | 'nodeId'>,
  ): Promise<JsonSchemaObject | undefined>;
}

/** One runner per tool type, so that a worker composes the tools it can offer. */
export interface AgentToolRunners {
  http: AgentToolRunner<HttpTool>;
  rag: AgentToolRunner<RagTool>;
  llm: AgentToolRunner<LlmTool>;
  /**
   * Secret values the runners hold (credential header values, provider keys). The agent redacts them
   * from the steps it stores and from captured content; runners keep them out of observations.
   */
  secrets?(): readonly string[];
}
