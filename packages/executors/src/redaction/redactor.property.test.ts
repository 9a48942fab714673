import type { JsonValue } from '@flowtrace/workflow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, type Redactor, SECRET_HEADER_NAMES } from './redactor.ts';

/**
 * Secrets as configured: at least 4 characters, any Unicode, URL and JSON syntax included. A secret
 * containing `[` or `]`, or lying inside the marker's letters, could overlap a `[REDACTED]` marker; the
 * redactor's guarantee excludes those (see `createRedactor`), and so does this generator.
 */
const secret = fc
  .oneof(
    fc.string({ minLength: 4, maxLength: 24 }),
    fc.string({ unit: 'binary', minLength: 4, maxLength: 16 }),
    fc.string({
      unit: fc.constantFrom('a', 'B', '0', ' ', '%', '"', '\\', '/', '@', '=', '+', '\n', 'é'),
      minLength: 4,
      maxLength: 16,
    }),
  )
  .filter((s) => !s.includes('[') && !s.includes(']') && !REDACTED.includes(s));

/** Text around the secrets: ordinary, hostile and Unicode strings. */
const filler = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));

/** Text that embeds some of the secrets, raw or in the spellings a server may echo them in. */
function textWith(secrets: string[]) {
  const spelling = fc
    .tuple(fc.constantFrom(...secrets), fc.constantFrom('raw', 'uri', 'json'))
    .map(([s, how]) => {
      if (how === 'uri') {
        try {
          return encodeURIComponent(s);
        } catch {
          return s;
        }
      }
      return how === 'json' ? JSON.stringify(s).slice(1, -1) : s;
    });
  return fc.array(fc.oneof(filler, spelling), { maxLength: 8 }).map((parts) => parts.join(''));
}

function spellings(s: string): string[] {
  const out = [s, JSON.stringify(s).slice(1, -1)];
  if (s.isWellFormed()) out.push(encodeURIComponent(s));
  // Ones that could overlap a marker are outside the guarantee, as for raw secrets.
  return out.filter((x) => !x.includes('[') && !x.includes(']') && !REDACTED.includes(x));
}

/** Every string (values and keys) inside a JSON value. */
function strings(value: JsonValue): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  }
  return [];
}

describe('redactor (property-based)', () => {
  it('leaves no configured secret, in any spelling it knows, in text', () => {
    fc.assert(
      fc.property(
        fc
          .array(secret, { minLength: 1, maxLength: 4 })
          .chain((secrets) => fc.tuple(fc.constant(secrets), textWith(secrets))),
        ([secrets, text]) => {
          const out = createRedactor({ secrets })(text);
          for (const s of secrets) {
            for (const spelling of spellings(s)) {
              expect(out.includes(spelling), JSON.stringify({ spelling, text, out })).toBe(false);
            }
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('leaves no configured secret in any string or key of a JSON value', () => {
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 3 }).chain((secrets) =>
          fc.tuple(
            fc.constant(secrets),
            fc.letrec<{ value: JsonValue }>((tie) => ({
              value: fc.oneof(
                { depthSize: 'small' },
                textWith(secrets),
                fc.integer(),
                fc.boolean(),
                fc.constant(null),
                fc.array(tie('value'), { maxLength: 4 }),
                fc.dictionary(textWith(secrets), tie('value'), { maxKeys: 4 }),
              ),
            })).value,
          ),
        ),
        ([secrets, value]) => {
          const out = createRedactor({ secrets }).json(value);
          for (const text of strings(out)) {
            for (const s of secrets) expect(text.includes(s)).toBe(false);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('replaces every value under a secret header name, whatever its case or shape', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SECRET_HEADER_NAMES, 'X-Crm-Key'),
        fc.boolean(),
        fc.jsonValue({ maxDepth: 2 }),
        (name, upper, value) => {
          const key = upper ? name.toUpperCase() : name;
          const out = createRedactor({ headerNames: ['x-crm-key'] }).json({
            echo: { [key]: value as JsonValue },
          });
          expect(out).toEqual({ echo: { [key]: value === null ? null : REDACTED } });
        },
      ),
    );
  });

  it('changes nothing where there is no secret and nothing shaped like a key', () => {
    const noDigits = fc.string({ maxLength: 40 }).filter((s) => !/\d/.test(s) && !/bearer|sk-|akia/i.test(s));
    fc.assert(
      fc.property(noDigits, (text) => {
        expect(createRedactor({})(text)).toBe(text);
      }),
      { numRuns: 1_000 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc
          .array(secret, { minLength: 1, maxLength: 3 })
          .chain((secrets) => fc.tuple(fc.constant(secrets), textWith(secrets))),
        ([secrets, text]) => {
          const redact = createRedactor({ secrets, patterns: ['ACCT-\\d+'] });
          const once = redact(text);
          expect(redact(once)).toBe(once);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('copies a JSON value as the recursive definition would, key order and "__proto__" keys included', () => {
    const reference = (redact: Redactor, value: JsonValue): JsonValue => {
      if (typeof value === 'string') return redact(value);
      if (Array.isArray(value)) return value.map((item) => reference(redact, item));
      if (value === null || typeof value !== 'object') return value;
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value)) {
        const secret = ['authorization', 'x-crm-key'].includes(key.toLowerCase()) && item !== null;
        Object.defineProperty(out, redact(key), {
          value: secret ? REDACTED : reference(redact, item),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 3 }).chain((secrets) =>
          fc.tuple(
            fc.constant(secrets),
            fc.letrec<{ value: JsonValue }>((tie) => ({
              value: fc.oneof(
                { depthSize: 'small' },
                textWith(secrets),
                fc.integer(),
                fc.constant(null),
                fc.array(tie('value'), { maxLength: 4 }),
                fc.dictionary(
                  fc.oneof(textWith(secrets), fc.constantFrom('__proto__', 'Authorization', 'x-crm-key')),
                  tie('value'),
                  { maxKeys: 4 },
                ),
              ),
            })).value,
          ),
        ),
        ([secrets, value]) => {
          const redact = createRedactor({ secrets, headerNames: ['X-Crm-Key'] });
          const out = redact.json(value);
          const expected = reference(redact, value);
          expect(out).toStrictEqual(expected);
          expect(JSON.stringify(out)).toBe(JSON.stringify(expected));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('redacts a value nested up to 100,000 levels deep without growing the stack', () => {
    fc.assert(
      fc.property(
        secret,
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom('array', 'object', 'mixed'),
        (s, depth, shape) => {
          const kindAt = (level: number) =>
            shape === 'mixed' ? (level % 2 === 0 ? 'array' : 'object') : shape;
          let value: JsonValue = { leaf: `x ${s} y`, Authorization: 'anything' };
          for (let level = 0; level < depth; level++) {
            value = kindAt(level) === 'array' ? [value] : { [`k ${s}`]: value };
          }
          let out = createRedactor({ secrets: [s] }).json(value);
          for (let level = depth - 1; level >= 0; level--) {
            if (kindAt(level) === 'array') {
              expect(Array.isArray(out)).toBe(true);
              out = (out as JsonValue[])[0] as JsonValue;
            } else {
              expect(Object.keys(out as object)).toEqual([`k ${REDACTED}`]);
              out = (out as Record<string, JsonValue>)[`k ${REDACTED}`] as JsonValue;
            }
          }
          expect(out).toEqual({ leaf: `x ${REDACTED} y`, Authorization: REDACTED });
        },
      ),
      { numRuns: 12 },
    );
  });
});
