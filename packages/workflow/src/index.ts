export { ancestorsOf, rootNodes, successorsOf } from './definition/graph.ts';
export { compileNodeJsonSchema } from './definition/json-schemas.ts';
export { DEFINITION_LIMITS, jsonByteLength, STORED_JSON_MAX_DEPTH } from './definition/limits.ts';
export {
  type AgentNodeConfig,
  type AgentTool,
  type ConnectorNodeConfig,
  type HttpTool,
  isNodeType,
  type LlmNodeConfig,
  type LlmTool,
  NODE_CONFIG_SCHEMAS,
  NODE_TYPES,
  type NodeConfigByType,
  type NodeType,
  type RagNodeConfig,
  type RagTool,
} from './definition/node-configs.ts';
export { formatIssues, parseWorkflowDefinition } from './definition/parse-definition.ts';
export { parseRunInput } from './definition/parse-run-input.ts';
export {
  assertStorableClientJson,
  describeJsonTextProblem,
  findJsonTextProblem,
  isStorableText,
  type JsonTextProblem,
  limitJsonDepth,
  REPLACEMENT_CHARACTER,
  type StorableJson,
  toStorableJson,
  toStorableText,
} from './definition/storable-json.ts';
export {
  type BackoffPolicy,
  NODE_ID_PATTERN,
  type RetryPolicy,
  type WorkflowDefinition,
  type WorkflowNode,
  type WorkflowNodeOf,
} from './definition/workflow-schema.ts';
export { ERROR_CODES, type ErrorCode } from './errors/error-codes.ts';
export { FlowtraceError, type FlowtraceErrorOptions, isFlowtraceError } from './errors/flowtrace-error.ts';
export {
  isRetryable,
  PermanentNodeError,
  TransientNodeError,
  type TransientNodeErrorOptions,
} from './errors/node-errors.ts';
export type {
  AgentStepRecord,
  ExecutionLedger,
  JsonPrimitive,
  JsonValue,
  Logger,
  ModelCallEstimate,
  ModelCallRecord,
  ModelCallReservation,
  NodeExecutionContext,
  NodeExecutor,
} from './executor/node-executor.ts';
export type {
  JsonSchema,
  JsonSchemaObject,
  JsonSchemaTypeName,
} from './json-schema/json-schema.ts';
export {
  type CompiledJsonSchema,
  compileJsonSchema,
  compileLinearPattern,
  describeViolation,
  InvalidJsonSchemaError,
  JsonSchemaCompiler,
  type JsonSchemaCompilerOptions,
  type JsonSchemaViolation,
} from './json-schema/schema-compiler.ts';
export {
  jsonTemplateStrings,
  renderJsonTemplate,
  renderTemplate,
  type TemplateReference,
  type TemplateScope,
  templateReferences,
} from './template/template.ts';
export {
  assertUrlTemplate,
  renderUrlTemplate,
  urlTemplateOrigin,
  urlTemplateProblem,
} from './template/url-template.ts';
