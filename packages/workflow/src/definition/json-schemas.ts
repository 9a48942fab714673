import { PermanentNodeError } from '../errors/node-errors.ts';
import type { JsonSchemaObject } from '../json-schema/json-schema.ts';
import {
  type CompiledJsonSchema,
  compileJsonSchema,
  InvalidJsonSchemaError,
} from '../json-schema/schema-compiler.ts';
import type { WorkflowNode } from './workflow-schema.ts';

/** A JSON Schema a node carries, with where it sits in the node's config. */
export interface NodeJsonSchema {
  /** `config.responseFormat.schema`, `config.tools[2].parameters`. */
  path: string;
  /** What the schema is for, in words: `responseFormat schema`, `parameters of tool "lookup"`. */
  label: string;
  schema: JsonSchemaObject;
}

/** Every JSON Schema in a node's config. */
export function nodeJsonSchemas(node: WorkflowNode): NodeJsonSchema[] {
  switch (node.type) {
    case 'llm':
      return node.config.responseFormat === undefined
        ? []
        : [
            {
              path: 'config.responseFormat.schema',
              label: 'responseFormat schema',
              schema: node.config.responseFormat.schema,
            },
          ];
    case 'agent':
      return node.config.tools.flatMap((tool, index) =>
        tool.type !== 'rag' && tool.parameters !== undefined
          ? [
              {
                path: `config.tools[${index}].parameters`,
                label: `parameters of tool "${tool.name}"`,
                schema: tool.parameters,
              },
            ]
          : [],
      );
    case 'connector':
    case 'rag':
      return [];
  }
}

/**
 * Compiles every JSON Schema of the nodes (each distinct schema once per process): a schema that does
 * not compile is an `invalid_json_schema` error naming the node and where the schema sits.
 */
export function assertJsonSchemas(nodes: readonly WorkflowNode[]): void {
  for (const node of nodes) {
    for (const { path, label, schema } of nodeJsonSchemas(node)) {
      compileNodeJsonSchema(schema, { nodeId: node.id, label, details: { path } });
    }
  }
}

/**
 * Compiles a schema of a node, at registration or when an executor needs it (a definition stored before
 * schemas were compiled at registration, or a schema a tool runner looked up): one that does not compile
 * is a permanent `invalid_json_schema` error, since retrying cannot fix it.
 */
export function compileNodeJsonSchema(
  schema: JsonSchemaObject,
  where: { nodeId: string; label: string; details: Record<string, unknown> },
): CompiledJsonSchema {
  try {
    return compileJsonSchema(schema);
  } catch (error) {
    if (!(error instanceof InvalidJsonSchemaError)) throw error;
    throw new PermanentNodeError(
      'invalid_json_schema',
      `node "${where.nodeId}": the ${where.label} is not a valid JSON Schema (2020-12): ${error.message}`,
      { nodeId: where.nodeId, details: where.details, cause: error },
    );
  }
}
