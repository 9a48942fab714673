import { z } from 'zod';
import type { JsonValue } from '../executor/node-executor.ts';

/** The instance types of JSON Schema's `type` keyword. */
export type JsonSchemaTypeName = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** A JSON Schema (2020-12): `true` and `false` are schemas too (accept all, accept none). */
export type JsonSchema = boolean | JsonSchemaObject;

/**
 * A JSON Schema object in the 2020-12 dialect. The keywords the product reads (or that most schemas use)
 * are typed; any other keyword is allowed through to the validator, which rejects unknown ones when the
 * schema is compiled (see `compileJsonSchema`).
 */
export interface JsonSchemaObject {
  [keyword: string]: unknown;
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: JsonSchemaTypeName | JsonSchemaTypeName[];
  enum?: JsonValue[];
  const?: JsonValue;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
  format?: string;
  pattern?: string;
  default?: JsonValue;
}

/**
 * A JSON Schema object in a workflow definition. Only the shape is checked here (an object); whether it
 * is a valid schema is decided by compiling it, which `parseWorkflowDefinition` does for every schema a
 * workflow carries so that the error can name the node.
 */
export const jsonSchemaObjectSchema = z.custom<JsonSchemaObject>(
  (value) => value !== null && typeof value === 'object' && !Array.isArray(value),
  { message: 'must be a JSON Schema object' },
);
