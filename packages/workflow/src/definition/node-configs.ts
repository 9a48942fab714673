import { z } from 'zod';
import { jsonSchemaObjectSchema } from '../json-schema/json-schema.ts';
import { DEFINITION_LIMITS } from './limits.ts';

/** A `{{ path }}` template over the run input, predecessor outputs and (in tools) the model's arguments. */
const template = z.string().max(DEFINITION_LIMITS.maxTemplateLength);
const name = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter and use only letters, digits, _ . -');

/**
 * JSON Schemas (2020-12: `responseFormat.schema`, tool `parameters`) go to providers for structured output
 * and tool calls; `parseWorkflowDefinition` compiles each one, and the executors validate the model's tool
 * arguments and structured answers against them.
 */
const jsonSchemaObject = jsonSchemaObjectSchema;

export const llmConfigSchema = z.strictObject({
  /** Provider name from the worker's configuration (`openai`, `anthropic`, `simulated`, ...). */
  provider: name,
  model: z.string().min(1).max(200),
  system: template.optional(),
  prompt: template.min(1),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  /** Ask for JSON that matches this schema, where the provider supports it. */
  responseFormat: z
    .strictObject({ type: z.literal('json_schema'), name, schema: jsonSchemaObject })
    .optional(),
});

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

export const connectorConfigSchema = z.strictObject({
  method: httpMethod.default('GET'),
  url: template.min(1),
  headers: z.record(z.string().min(1).max(200), template).optional(),
  query: z.record(z.string().min(1).max(200), template).optional(),
  /** A string template, or a JSON value whose strings are templates. */
  body: z.unknown().optional(),
  /** Name of a credential from the worker's configuration; its headers are added at request time. */
  credential: name.optional(),
  timeoutMs: z.number().int().min(1).max(300_000).optional(),
  maxResponseBytes: z
    .number()
    .int()
    .min(1)
    .max(50 * 1024 * 1024)
    .optional(),
  responseType: z.enum(['json', 'text', 'auto']).default('auto'),
});

export const ragConfigSchema = z.strictObject({
  collection: name,
  query: template.min(1),
  topK: z.number().int().min(1).max(100).default(5),
  /** Equality filter on chunk metadata. */
  filter: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

const toolBase = { name, description: z.string().min(1).max(2_000) };

export const httpToolSchema = z.strictObject({
  ...toolBase,
  type: z.literal('http'),
  method: httpMethod.default('GET'),
  /** Templates may read the model's arguments as `{{ args.<name> }}`. */
  url: template.min(1),
  headers: z.record(z.string().min(1).max(200), template).optional(),
  body: z.unknown().optional(),
  credential: name.optional(),
  /** JSON Schema of the arguments the model must supply. */
  parameters: jsonSchemaObject.default({ type: 'object', properties: {} }),
  timeoutMs: z.number().int().min(1).max(300_000).optional(),
});

export const ragToolSchema = z.strictObject({
  ...toolBase,
  type: z.literal('rag'),
  collection: name,
  topK: z.number().int().min(1).max(100).default(5),
});

/**
 * An LLM call as a tool: either its own prompt (provider, model, prompt over `args`), or the prompt of an
 * `llm` node of another registered workflow (`workflowId` and `nodeId`; that prompt's `input.*` variables
 * are the tool's arguments).
 */
export const llmToolSchema = z
  .strictObject({
    ...toolBase,
    type: z.literal('llm'),
    provider: name.optional(),
    model: z.string().min(1).max(200).optional(),
    system: template.optional(),
    /** Templates may read the model's arguments as `{{ args.<name> }}`. */
    prompt: template.min(1).optional(),
    workflowId: z.uuid().optional(),
    nodeId: z.string().min(1).max(64).optional(),
    /** JSON Schema of the arguments; for a workflow's prompt, derived from its `input.*` variables by default. */
    parameters: jsonSchemaObject.optional(),
  })
  .superRefine((tool, ctx) => {
    const inline = tool.provider !== undefined || tool.model !== undefined || tool.prompt !== undefined;
    const reference = tool.workflowId !== undefined || tool.nodeId !== undefined;
    if (inline === reference) {
      ctx.addIssue({
        code: 'custom',
        message: `llm tool "${tool.name}" needs either provider, model and prompt, or workflowId and nodeId (not both)`,
      });
    } else if (
      inline &&
      (tool.provider === undefined || tool.model === undefined || tool.prompt === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `llm tool "${tool.name}" needs provider, model and prompt together`,
      });
    } else if (reference && (tool.workflowId === undefined || tool.nodeId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `llm tool "${tool.name}" needs workflowId and nodeId together`,
      });
    }
  });

export const agentToolSchema = z.discriminatedUnion('type', [httpToolSchema, ragToolSchema, llmToolSchema]);

export const agentConfigSchema = z.strictObject({
  name,
  provider: name,
  model: z.string().min(1).max(200),
  system: template.optional(),
  prompt: template.min(1),
  tools: z.array(agentToolSchema).max(DEFINITION_LIMITS.maxTools).default([]),
  maxSteps: z.number().int().min(1).max(50).default(8),
  maxTokens: z.number().int().min(1).max(200_000).optional(),
  budget: z
    .strictObject({
      maxTotalTokens: z.number().int().min(1).optional(),
      maxCostUsd: z.number().positive().optional(),
    })
    .optional(),
});

export type LlmNodeConfig = z.infer<typeof llmConfigSchema>;
export type ConnectorNodeConfig = z.infer<typeof connectorConfigSchema>;
export type RagNodeConfig = z.infer<typeof ragConfigSchema>;
export type AgentNodeConfig = z.infer<typeof agentConfigSchema>;
export type AgentTool = z.infer<typeof agentToolSchema>;
export type HttpTool = z.infer<typeof httpToolSchema>;
export type RagTool = z.infer<typeof ragToolSchema>;
export type LlmTool = z.infer<typeof llmToolSchema>;

export const NODE_CONFIG_SCHEMAS = {
  llm: llmConfigSchema,
  agent: agentConfigSchema,
  connector: connectorConfigSchema,
  rag: ragConfigSchema,
} as const;

export type NodeType = keyof typeof NODE_CONFIG_SCHEMAS;
export const NODE_TYPES = Object.keys(NODE_CONFIG_SCHEMAS) as NodeType[];

export interface NodeConfigByType {
  llm: LlmNodeConfig;
  agent: AgentNodeConfig;
  connector: ConnectorNodeConfig;
  rag: RagNodeConfig;
}

export function isNodeType(value: unknown): value is NodeType {
  return typeof value === 'string' && Object.hasOwn(NODE_CONFIG_SCHEMAS, value);
}
