/**
 * The OpenTelemetry semantic-convention names the fleet emits, in one module. Stable names are re-exported
 * from `@opentelemetry/semantic-conventions` (`ATTR_*`, `EVENT_*`). Names still in Development status
 * (GenAI, messaging, `user.id`) are copied here `as const`, as the OpenTelemetry contrib instrumentations
 * do, rather than imported from the `incubating` entry point, whose exports may be renamed in a minor.
 * Checked against `@opentelemetry/semantic-conventions` 1.45 (GenAI spec v1.41; retrieval's names from
 * semantic-conventions-genai 0.1). The product's own names are in `attributes.ts`; `docs/telemetry.md`
 * lists every name with the spans, metrics and logs that carry it.
 */

// --- Stable (imported) ----------------------------------------------------------------------------

export {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_BATCH_SIZE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_SYSTEM_NAME,
  ATTR_DEPLOYMENT_ENVIRONMENT_NAME,
  ATTR_ERROR_TYPE,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
  EVENT_EXCEPTION,
} from '@opentelemetry/semantic-conventions';

// --- Messaging (https://opentelemetry.io/docs/specs/semconv/messaging/) ---------------------------

export const ATTR_MESSAGING_SYSTEM = 'messaging.system' as const;
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name' as const;
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type' as const;
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name' as const;
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id' as const;
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name' as const;
export const MESSAGING_SYSTEM_VALUE_BULLMQ = 'bullmq' as const;
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send' as const;
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process' as const;

// --- General --------------------------------------------------------------------------------------

/** The API key that submitted the run (the closest the product has to a user). */
export const ATTR_USER_ID = 'user.id' as const;

// --- GenAI (https://opentelemetry.io/docs/specs/semconv/gen-ai/) -----------------------------------

export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name' as const;
/** Replaces the deprecated `gen_ai.system`. */
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name' as const;
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model' as const;
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature' as const;
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens' as const;
export const ATTR_GEN_AI_OUTPUT_TYPE = 'gen_ai.output.type' as const;
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model' as const;
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id' as const;
/** A string array, one entry per generation (choice). */
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons' as const;
/** All input tokens, cached ones included (the spec says SHOULD include every kind of input token). */
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens' as const;
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS =
  'gen_ai.usage.cache_creation.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens' as const;
/**
 * Cost of the call in USD. Not in the spec (which has no cost attribute); it is the de-facto name that
 * LLM-observability tools, SigNoz's LLM views among them, read.
 */
export const ATTR_GEN_AI_USAGE_COST = 'gen_ai.usage.cost' as const;
/** Opt-in content attributes: JSON strings following the GenAI input/output message JSON schemas. */
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages' as const;
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages' as const;
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions' as const;
export const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name' as const;
export const ATTR_GEN_AI_WORKFLOW_NAME = 'gen_ai.workflow.name' as const;
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name' as const;
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id' as const;
export const ATTR_GEN_AI_TOOL_TYPE = 'gen_ai.tool.type' as const;
export const ATTR_GEN_AI_TOOL_DESCRIPTION = 'gen_ai.tool.description' as const;
/** Opt-in (content capture): the tool call's arguments as JSON, redacted and truncated. */
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments' as const;
/** Opt-in (content capture): the tool's result (or `{ "error": ... }`) as JSON, redacted and truncated. */
export const ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result' as const;
export const ATTR_GEN_AI_DATA_SOURCE_ID = 'gen_ai.data_source.id' as const;
export const ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT = 'gen_ai.embeddings.dimension.count' as const;
/** Retrieval's top-k (semantic-conventions-genai moved it off `gen_ai.request.top_k`). */
export const ATTR_GEN_AI_RETRIEVAL_TOP_K = 'gen_ai.retrieval.top_k' as const;
/** JSON `[{ "id": <chunk id>, "score": <similarity> }]`, ids and scores only, never content. */
export const ATTR_GEN_AI_RETRIEVAL_DOCUMENTS = 'gen_ai.retrieval.documents' as const;
/** Metric attribute of `gen_ai.client.token.usage`. */
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type' as const;

export const GEN_AI_OPERATION_NAME_VALUE_CHAT = 'chat' as const;
export const GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS = 'embeddings' as const;
export const GEN_AI_OPERATION_NAME_VALUE_RETRIEVAL = 'retrieval' as const;
export const GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL = 'execute_tool' as const;
export const GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT = 'invoke_agent' as const;
export const GEN_AI_OPERATION_NAME_VALUE_INVOKE_WORKFLOW = 'invoke_workflow' as const;

export const GEN_AI_PROVIDER_NAME_VALUE_OPENAI = 'openai' as const;
export const GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC = 'anthropic' as const;
export const GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI = 'azure.ai.openai' as const;
/** Ours, not the spec's: the offline simulated provider, named so that nobody mistakes it for a model. */
export const GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_SIMULATED = 'flowtrace.simulated' as const;
/** Ours, not the spec's: the local, deterministic embedder. */
export const GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_OFFLINE = 'flowtrace.offline' as const;

export const GEN_AI_TOKEN_TYPE_VALUE_INPUT = 'input' as const;
export const GEN_AI_TOKEN_TYPE_VALUE_OUTPUT = 'output' as const;

export const GEN_AI_OUTPUT_TYPE_VALUE_TEXT = 'text' as const;
export const GEN_AI_OUTPUT_TYPE_VALUE_JSON = 'json' as const;

export const GEN_AI_TOOL_TYPE_VALUE_FUNCTION = 'function' as const;
export const GEN_AI_TOOL_TYPE_VALUE_EXTENSION = 'extension' as const;
export const GEN_AI_TOOL_TYPE_VALUE_DATASTORE = 'datastore' as const;

/** Histogram, unit `{token}`, one record per token type (input, output) per call. */
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage' as const;
/** Histogram, unit `s`. */
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration' as const;

/** Bucket boundaries the GenAI metric conventions recommend (explicit-bucket advice). */
export const GEN_AI_TOKEN_USAGE_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
] as const;
export const GEN_AI_OPERATION_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
] as const;
