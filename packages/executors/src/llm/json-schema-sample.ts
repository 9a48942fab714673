import { compileLinearPattern, type JsonValue } from '@flowtrace/workflow';

export interface SampleContext {
  /** Deterministic random numbers in [0, 1). */
  random: () => number;
  /** A string value for a property (its name, or '' at the top level or in arrays). */
  stringFor: (propertyName: string) => string;
  /** `required`: only required properties of objects (tool arguments); `all`: every listed property. */
  properties: 'required' | 'all';
  /** A string from the conversation that matches a property's `pattern`, as a model would pick one. */
  stringMatching?: (pattern: { test(input: string): boolean }) => string | undefined;
}

function patternString(schema: Record<string, unknown>, ctx: SampleContext): string | undefined {
  if (Array.isArray(schema.examples) && typeof schema.examples[0] === 'string') return schema.examples[0];
  if (typeof schema.pattern !== 'string' || !ctx.stringMatching) return undefined;
  try {
    // The tenant's pattern, matched in linear time as the schema's validation does.
    return ctx.stringMatching(compileLinearPattern(schema.pattern));
  } catch {
    return undefined;
  }
}

const MAX_DEPTH = 8;

/**
 * A value that satisfies a simple JSON Schema: object, array, string, number, integer, boolean, null,
 * `enum`, `const`, type arrays, and `anyOf`/`oneOf` (first branch). Numbers and lengths respect
 * min/max bounds; a string `pattern` is met by a matching word of the conversation (or `examples[0]`).
 * Used by the simulated provider; not a general schema solver (`$ref`, `allOf` and conditionals are
 * ignored).
 */
export function sampleFromSchema(schema: unknown, ctx: SampleContext, name = '', depth = 0): JsonValue {
  if (schema === null || typeof schema !== 'object' || depth > MAX_DEPTH) return null;
  const s = schema as Record<string, unknown>;
  if ('const' in s) return (s.const ?? null) as JsonValue;
  if (Array.isArray(s.enum) && s.enum.length > 0) {
    return s.enum[Math.floor(ctx.random() * s.enum.length)] as JsonValue;
  }
  const branch = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined)?.find(
    (option) =>
      !(typeof option === 'object' && option !== null && (option as { type?: unknown }).type === 'null'),
  );
  if (branch !== undefined) return sampleFromSchema(branch, ctx, name, depth + 1);

  const type = pickType(s);
  switch (type) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const out: Record<string, JsonValue> = {};
      for (const [key, child] of Object.entries(properties)) {
        if (ctx.properties === 'all' || required.has(key))
          out[key] = sampleFromSchema(child, ctx, key, depth + 1);
      }
      // Required names without a property schema still get a value.
      for (const key of required) if (!(key in out)) out[key] = ctx.stringFor(key);
      return out;
    }
    case 'array': {
      const min = numberOr(s.minItems, 1);
      const max = numberOr(s.maxItems, Math.max(min, 1));
      const count = Math.min(Math.max(min, 1), max);
      return Array.from({ length: count }, () => sampleFromSchema(s.items ?? {}, ctx, name, depth + 1));
    }
    case 'string':
      return patternString(s, ctx) ?? fitString(stringForFormat(s.format, ctx.stringFor(name)), s);
    case 'integer':
    case 'number': {
      const step = type === 'integer' ? 1 : 0.01;
      const min =
        typeof s.minimum === 'number'
          ? s.minimum
          : typeof s.exclusiveMinimum === 'number'
            ? s.exclusiveMinimum + step
            : 0;
      let max =
        typeof s.maximum === 'number'
          ? s.maximum
          : typeof s.exclusiveMaximum === 'number'
            ? s.exclusiveMaximum - step
            : min + 100;
      if (max < min) max = min;
      const value = min + ctx.random() * (max - min);
      const rounded = type === 'integer' ? Math.round(value) : Math.round(value * 100) / 100;
      const low = type === 'integer' ? Math.ceil(min) : min;
      const high = type === 'integer' ? Math.floor(max) : max;
      return Math.min(Math.max(rounded, low), high);
    }
    case 'boolean':
      return ctx.random() < 0.5;
    case 'null':
      return null;
    default:
      return ctx.stringFor(name);
  }
}

function pickType(s: Record<string, unknown>): string | undefined {
  if (typeof s.type === 'string') return s.type;
  if (Array.isArray(s.type)) return (s.type as string[]).find((t) => t !== 'null') ?? 'null';
  if (s.properties !== undefined) return 'object';
  if (s.items !== undefined) return 'array';
  return undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function stringForFormat(format: unknown, fallback: string): string {
  switch (format) {
    case 'date-time':
      return '2026-01-01T00:00:00Z';
    case 'date':
      return '2026-01-01';
    case 'email':
      return 'simulated@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/simulated';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    default:
      return fallback;
  }
}

function fitString(value: string, s: Record<string, unknown>): string {
  const maxLength = numberOr(s.maxLength, Number.POSITIVE_INFINITY);
  const minLength = numberOr(s.minLength, 0);
  let out = value.length > maxLength ? value.slice(0, maxLength) : value;
  while (out.length < minLength) out += 'x';
  return out;
}
