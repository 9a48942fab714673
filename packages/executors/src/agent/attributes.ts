/**
 * Span attribute names the agent loop emits beyond those in the package's `semconv.ts`. The `gen_ai.*`
 * ones are copied from the GenAI semantic conventions (Development status, execute_tool span):
 * `gen_ai.tool.description`, and the opt-in content attributes `gen_ai.tool.call.arguments` /
 * `gen_ai.tool.call.result` (set only when content capture is on). The rest are ours, under `flowtrace.`.
 */
export const AGENT_ATTRIBUTES = {
  toolDescription: 'gen_ai.tool.description',
  /** Opt-in: the tool call's arguments as JSON, redacted and truncated. */
  toolCallArguments: 'gen_ai.tool.call.arguments',
  /** Opt-in: the tool's result (or `{ "error": ... }`) as JSON, redacted and truncated. */
  toolCallResult: 'gen_ai.tool.call.result',
  /** Model calls the agent made (what `maxSteps` bounds). */
  modelCalls: 'flowtrace.agent.model_calls',
  /** Tool calls the agent executed, failed ones included. */
  toolCalls: 'flowtrace.agent.tool_calls',
  /** Tool calls that ended in an error fed back to the model. */
  toolErrors: 'flowtrace.agent.tool_errors',
  maxSteps: 'flowtrace.agent.max_steps',
  /** True when some model call of the agent had no price, so the total cost is unknown. */
  costUnknown: 'flowtrace.agent.cost_unknown',
} as const;
