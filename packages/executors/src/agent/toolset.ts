import {
  GEN_AI_TOOL_TYPE_VALUE_DATASTORE,
  GEN_AI_TOOL_TYPE_VALUE_EXTENSION,
  GEN_AI_TOOL_TYPE_VALUE_FUNCTION,
} from '@flowtrace/telemetry/semconv';
import {
  type AgentTool,
  type CompiledJsonSchema,
  compileNodeJsonSchema,
  describeViolation,
  FlowtraceError,
  type JsonSchemaObject,
  type JsonValue,
  PermanentNodeError,
} from '@flowtrace/workflow';
import type { ChatToolDefinition } from '../llm/provider.ts';

/** An agent tool with the name the model sees. */
export interface OfferedTool {
  tool: AgentTool;
  /**
   * The tool's name on the wire. OpenAI and Anthropic accept `[A-Za-z0-9_-]{1,64}`; workflow tool names
   * may also hold dots, which become `_`. Spans and steps use the configured name.
   */
  wireName: string;
  definition: ChatToolDefinition;
  /** `definition.parameters`, compiled: the model's arguments are checked against it before the tool runs. */
  argumentsSchema: CompiledJsonSchema;
}

/** The tools an agent offers, by wire name. */
export interface Toolset {
  readonly definitions: ChatToolDefinition[];
  /** The tool the model called, by wire name (or, leniently, by configured name). */
  find(name: string): OfferedTool | undefined;
  /** Configured names, for error messages. */
  names(): string[];
}

/**
 * Builds the tool definitions the model gets: name, description and a JSON-schema of the arguments
 * (the configured `parameters` for http and llm tools, `{ query: string }` for rag tools), and compiles
 * each schema (once per process, see `compileJsonSchema`). Two tools whose names collide on the wire, or a
 * schema that does not compile (one stored before schemas were checked at registration, or looked up by a
 * runner), are definition errors.
 */
export function buildToolset(
  tools: readonly AgentTool[],
  where: { nodeId: string },
  /** Argument schemas looked up by the runners, by configured tool name. */
  resolvedParameters: ReadonlyMap<string, JsonSchemaObject> = new Map(),
): Toolset {
  const byWire = new Map<string, OfferedTool>();
  const byName = new Map<string, OfferedTool>();
  for (const tool of tools) {
    const wireName = tool.name.replace(/[^A-Za-z0-9_-]/g, '_');
    const clash = byWire.get(wireName);
    if (clash !== undefined) {
      throw new PermanentNodeError(
        'invalid_definition',
        `agent tools "${clash.tool.name}" and "${tool.name}" have the same name as the model sees it ("${wireName}"); rename one`,
        { ...where, details: { tools: [clash.tool.name, tool.name] } },
      );
    }
    const parameters = resolvedParameters.get(tool.name) ?? parametersOf(tool);
    const offered: OfferedTool = {
      tool,
      wireName,
      definition: { name: wireName, description: tool.description, parameters },
      argumentsSchema: compileNodeJsonSchema(parameters, {
        ...where,
        label: `parameters of tool "${tool.name}"`,
        details: { tool: tool.name },
      }),
    };
    byWire.set(wireName, offered);
    byName.set(tool.name, offered);
  }
  const definitions = [...byWire.values()].map((t) => t.definition);
  return {
    definitions,
    find: (name) => byWire.get(name) ?? byName.get(name),
    names: () => [...byName.keys()],
  };
}

function parametersOf(tool: AgentTool): JsonSchemaObject {
  if (tool.type === 'rag') {
    return {
      type: 'object',
      properties: {
        query: { type: 'string', description: `What to search for in the "${tool.collection}" collection` },
      },
      required: ['query'],
    };
  }
  return tool.parameters ?? { type: 'object', properties: {} };
}

/**
 * `gen_ai.tool.type`, per the GenAI conventions' values: an http tool calls an external API from the
 * agent (`extension`), a rag tool queries a data store (`datastore`), an llm tool is a function the
 * agent runs locally (`function`).
 */
export function genAiToolType(tool: AgentTool | undefined): string {
  switch (tool?.type) {
    case 'http':
      return GEN_AI_TOOL_TYPE_VALUE_EXTENSION;
    case 'rag':
      return GEN_AI_TOOL_TYPE_VALUE_DATASTORE;
    default:
      return GEN_AI_TOOL_TYPE_VALUE_FUNCTION;
  }
}

/**
 * A tool call the loop refuses before running anything (unknown tool, unusable arguments). Its
 * `reason` becomes the `execute_tool` span's `error.type`.
 */
export class ToolCallError extends FlowtraceError {
  readonly reason: 'unknown_tool' | 'invalid_arguments';
  constructor(reason: 'unknown_tool' | 'invalid_arguments', message: string) {
    super('tool_error', message, { details: { reason } });
    this.name = 'ToolCallError';
    this.reason = reason;
  }
}

/**
 * The model's arguments as an object that matches the tool's parameters schema. Providers hand over the
 * raw text when it is not valid JSON; that, a non-object value and a value the schema refuses are
 * reported back to the model (the loop turns the error into the tool's result), so that it can call again.
 */
export function parseToolArguments(offered: OfferedTool, args: JsonValue): Record<string, JsonValue> {
  const name = offered.wireName;
  if (typeof args === 'string') {
    const excerpt = args.length > 200 ? `${args.slice(0, 200)}…` : args;
    throw new ToolCallError(
      'invalid_arguments',
      `the arguments for tool "${name}" are not valid JSON (${excerpt}); call it again with a JSON object`,
    );
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new ToolCallError(
      'invalid_arguments',
      `the arguments for tool "${name}" must be a JSON object matching its parameters schema`,
    );
  }
  const violation = offered.argumentsSchema.validate(args);
  if (violation === null) return args;
  // Every missing top-level argument at once (Ajv stops at the first): the model fixes them in one call.
  const missing = (offered.definition.parameters.required ?? []).filter((key) => !Object.hasOwn(args, key));
  if (violation.keyword === 'required' && violation.instancePath === '' && missing.length > 0) {
    throw new ToolCallError(
      'invalid_arguments',
      `tool "${name}" is missing required argument${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`,
    );
  }
  throw new ToolCallError(
    'invalid_arguments',
    `the arguments for tool "${name}" do not match its parameters schema: ${describeViolation(violation, 'the arguments')}; call it again with arguments that do`,
  );
}
