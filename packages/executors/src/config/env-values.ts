import { z } from 'zod';

/**
 * Value schemas for the executors' environment variables. Compose passes an unset variable through as an
 * empty string (`${VAR:-}`), so an empty or blank value means unset everywhere here. Messages never quote
 * a value that can hold secrets (JSON of providers or credentials, keys).
 */

const unset = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/** One of `values`; unset when empty. */
export function optionalChoice<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(unset, z.enum(values, { error: `must be one of ${values.join(', ')}` }).optional());
}

/** Text, trimmed; unset when empty. */
export const optionalText = z.preprocess(unset, z.string().trim().optional());

/** An http(s) URL; unset when empty. */
export const optionalHttpUrl = z.preprocess(
  unset,
  z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
);

/** A whole number from `min` to `max` (decimal digits only); unset when empty. */
export function optionalWholeNumber(min: number, max = Number.MAX_SAFE_INTEGER, unit = '') {
  const message =
    max === Number.MAX_SAFE_INTEGER
      ? `must be a whole number${unit} of at least ${min}`
      : `must be a whole number${unit} from ${min} to ${max}`;
  return z.preprocess(
    unset,
    z
      .string()
      .trim()
      .regex(/^\d+$/, message)
      .transform(Number)
      .refine((value) => Number.isSafeInteger(value) && value >= min && value <= max, message)
      .optional(),
  );
}

/** A comma-separated list; blank items dropped. */
export const commaList = z
  .string()
  .optional()
  .transform((value) => listItems(value ?? ''));

function listItems(text: string): string[] {
  return text.split(',').flatMap((item) => (item.trim() === '' ? [] : [item.trim()]));
}

/**
 * A JSON value checked by `schema`; unset when empty. Invalid JSON, and JSON of the wrong shape at the
 * top, get `expected` in their message; deeper problems are reported by `schema` with their path.
 */
export function jsonValue<T extends z.ZodType>(
  schema: T,
  expected: { what: string; shape: (value: unknown) => boolean },
) {
  return z
    .preprocess(unset, z.string().optional())
    .transform((text, ctx): unknown => {
      if (text === undefined) return undefined;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `is not valid JSON (expected ${expected.what})` });
        return z.NEVER;
      }
      if (!expected.shape(value)) {
        ctx.addIssue({ code: 'custom', message: `must be ${expected.what}` });
        return z.NEVER;
      }
      return value;
    })
    .pipe(schema.optional());
}

export const isJsonObject = (value: unknown): boolean =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
