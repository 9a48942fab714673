import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import addFormats from 'ajv-formats';
import { RE2JS } from 're2js';
import type { JsonSchema } from './json-schema.ts';

/** Why a value does not match a schema: the first violation Ajv found. */
export interface JsonSchemaViolation {
  /** JSON Pointer of the offending part of the value; `''` for the value itself. */
  instancePath: string;
  /** The keyword that failed (`type`, `required`, `enum`, ...). */
  keyword: string;
  /** Ajv's message with the parameters that make it actionable, e.g. `must be string`. */
  message: string;
}

/** A compiled schema. Validation never changes the value (no defaults, no coercion). */
export interface CompiledJsonSchema {
  /** `null` when the value matches, else the first violation. */
  validate(value: unknown): JsonSchemaViolation | null;
}

/** A schema that does not compile: not valid 2020-12, an unknown keyword, a `$ref` that does not resolve. */
export class InvalidJsonSchemaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidJsonSchemaError';
  }
}

export interface JsonSchemaCompilerOptions {
  /** Compiled schemas (and compile failures) kept, least recently used dropped first. Default 1,000. */
  maxEntries?: number;
}

/**
 * A JSON Schema `pattern` (ECMAScript syntax, unanchored) compiled for RE2, whose matching time is linear
 * in the input, instead of JavaScript's backtracking `RegExp`. Patterns come from tenants and are matched
 * against model output in the workers, where one catastrophic pattern (`^(a+)+$`) would hold a worker's
 * event loop for minutes. Throws, naming the pattern, for one that is not a regular expression or that
 * RE2 cannot match in linear time (a backreference, a lookaround).
 */
export function compileLinearPattern(pattern: string): { test(input: string): boolean } {
  // Compiling a JavaScript RegExp is cheap and safe (matching is what backtracks): it names a syntax error.
  new RegExp(pattern, 'u');
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `pattern ${JSON.stringify(pattern)} is not supported (${reason}): patterns are matched in linear time, without backreferences or lookarounds`,
    );
  }
}

/** Ajv's engine for `pattern` and `patternProperties`. */
const linearRegExp: RegExpEngine = Object.assign((pattern: string) => compileLinearPattern(pattern), {
  code: 'compileLinearPattern',
});

/**
 * Compiles JSON Schemas (dialect 2020-12, with the `ajv-formats` formats) with Ajv, once per distinct
 * schema: compiling generates code, and agent loops validate every tool call, so compiled schemas are
 * cached by their JSON text. The cache is bounded because tenants register arbitrary schemas.
 *
 * Options: `strictSchema` rejects unknown keywords (a misspelt `requried` would otherwise accept
 * anything); the other strict checks flag legal schemas and stay off. `allErrors` stays off: Ajv
 * advises against it for untrusted data, and the first violation is what a model or an operator needs.
 * Ajv never fetches a remote `$ref`: one that is not inside the schema does not compile. Patterns are
 * matched by RE2 (`linearRegExp`).
 */
export class JsonSchemaCompiler {
  readonly #ajv: Ajv2020;
  readonly #cache = new Map<string, CompiledJsonSchema | InvalidJsonSchemaError>();
  readonly #maxEntries: number;

  constructor(options: JsonSchemaCompilerOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1_000;
    this.#ajv = new Ajv2020({
      strictSchema: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allErrors: false,
      logger: false,
      code: { regExp: linearRegExp },
    });
    addFormats.default(this.#ajv);
  }

  /** The compiled schema; throws `InvalidJsonSchemaError` when it does not compile. */
  compile(schema: JsonSchema): CompiledJsonSchema {
    const key = JSON.stringify(schema);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      // Most recently used last: `Map` keeps insertion order.
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      if (cached instanceof InvalidJsonSchemaError) throw cached;
      return cached;
    }
    let entry: CompiledJsonSchema | InvalidJsonSchemaError;
    try {
      entry = wrap(this.#compileIsolated(schema));
    } catch (error) {
      entry = new InvalidJsonSchemaError(schemaProblem(error), { cause: error });
    }
    this.#cache.set(key, entry);
    if (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    if (entry instanceof InvalidJsonSchemaError) throw entry;
    return entry;
  }

  /**
   * Compiles without leaving anything in the Ajv instance: its own cache (keyed by the schema object,
   * which would grow with every definition parsed) and the `$id`s it recorded, so that each schema stands
   * alone (another tenant's schema can neither reach it by its `$id` nor clash with it). The validator
   * keeps what it needs: every `$ref` is resolved while compiling. (Ajv's `addUsedSchema: false` would
   * skip the recording, but then a schema without `$id` cannot refer to itself with `"$ref": "#"`.)
   */
  #compileIsolated(schema: JsonSchema): ValidateFunction {
    const ajv = this.#ajv;
    const refs = new Set(Object.keys(ajv.refs));
    const schemas = new Set(Object.keys(ajv.schemas));
    try {
      return ajv.compile(schema);
    } finally {
      if (typeof schema === 'object') ajv.removeSchema(schema);
      for (const id of Object.keys(ajv.refs)) if (!refs.has(id)) delete ajv.refs[id];
      for (const id of Object.keys(ajv.schemas)) if (!schemas.has(id)) delete ajv.schemas[id];
    }
  }
}

/** Ajv's reason, with its meta-schema paths (`data/properties/a/type`) as pointers into the schema. */
function schemaProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(^|: |, )data(?=[/ ])/g, '$1');
}

function wrap(validate: ValidateFunction): CompiledJsonSchema {
  return {
    validate(value) {
      if (validate(value)) return null;
      const error = validate.errors?.[0];
      return error === undefined
        ? { instancePath: '', keyword: 'false', message: 'must not be present' }
        : violationOf(error);
    },
  };
}

function violationOf(error: ErrorObject): JsonSchemaViolation {
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? `must pass "${error.keyword}"`;
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    message = `must not have the property ${JSON.stringify(params.additionalProperty)}`;
  } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (error.keyword === 'const') {
    message = `must be ${JSON.stringify(params.allowedValue)}`;
  } else if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    message = `must have the property ${JSON.stringify(params.missingProperty)}`;
  }
  return { instancePath: error.instancePath, keyword: error.keyword, message };
}

/** `/city must be string`, or `the value must be string` at the top. */
export function describeViolation(violation: JsonSchemaViolation, what = 'the value'): string {
  return violation.instancePath === ''
    ? `${what} ${violation.message}`
    : `${what} at ${violation.instancePath} ${violation.message}`;
}

let shared: JsonSchemaCompiler | undefined;

/**
 * Compiles with the process's one `JsonSchemaCompiler`, created on first use. Shared on purpose: it is a
 * memo of pure functions (no I/O, no configuration), and sharing it is what makes registration, workflow
 * loads and every agent loop in a process compile a given schema once.
 */
export function compileJsonSchema(schema: JsonSchema): CompiledJsonSchema {
  shared ??= new JsonSchemaCompiler();
  return shared.compile(schema);
}
