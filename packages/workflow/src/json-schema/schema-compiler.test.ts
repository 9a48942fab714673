import { describe, expect, it } from 'vitest';
import type { JsonSchemaObject } from './json-schema.ts';
import { describeViolation, InvalidJsonSchemaError, JsonSchemaCompiler } from './schema-compiler.ts';

const weather: JsonSchemaObject = {
  type: 'object',
  properties: {
    city: { type: 'string', minLength: 1 },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    units: { enum: ['metric', 'imperial'] },
    contact: { type: 'string', format: 'email' },
  },
  required: ['city'],
  additionalProperties: false,
};

describe('JsonSchemaCompiler', () => {
  it('validates values against a 2020-12 schema, reporting the first violation with its path', () => {
    const schema = new JsonSchemaCompiler().compile(weather);
    expect(
      schema.validate({ city: 'Lima', days: 3, units: 'metric', contact: 'ops@example.com' }),
    ).toBeNull();
    expect(schema.validate({ city: 'Lima', days: 'three' })).toEqual({
      instancePath: '/days',
      keyword: 'type',
      message: 'must be integer',
    });
    expect(schema.validate({})).toMatchObject({
      keyword: 'required',
      message: 'must have the property "city"',
    });
    expect(schema.validate({ city: 'Lima', units: 'kelvin' })?.message).toBe(
      'must be one of "metric", "imperial"',
    );
    expect(schema.validate({ city: 'Lima', wind: true })?.message).toBe('must not have the property "wind"');
    // ajv-formats: formats are checked, not just annotations.
    expect(schema.validate({ city: 'Lima', contact: 'not an address' })?.message).toBe(
      'must match format "email"',
    );
  });

  it('leaves the value as it was (no defaults filled in, no coercion)', () => {
    const schema = new JsonSchemaCompiler().compile({
      type: 'object',
      properties: { n: { type: 'number', default: 1 } },
    });
    const value = { other: '2' };
    expect(schema.validate(value)).toBeNull();
    expect(value).toEqual({ other: '2' });
    expect(schema.validate({ n: '2' })?.message).toBe('must be number');
  });

  it('supports 2020-12 keywords and local references, recursive ones included', () => {
    const tree: JsonSchemaObject = {
      $defs: { leaf: { type: 'number' } },
      type: 'object',
      properties: {
        value: { $ref: '#/$defs/leaf' },
        children: { type: 'array', items: { $ref: '#' } },
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false },
      },
    };
    const schema = new JsonSchemaCompiler().compile(tree);
    expect(schema.validate({ value: 1, children: [{ value: 2, children: [] }], pair: ['a', 1] })).toBeNull();
    expect(schema.validate({ children: [{ children: [{ value: 'x' }] }] })).toMatchObject({
      instancePath: '/children/0/children/0/value',
      message: 'must be number',
    });
    expect(schema.validate({ pair: ['a', 1, 2] })?.instancePath).toBe('/pair');
  });

  it.each<[string, unknown, RegExp]>([
    [
      'an unknown type name',
      { type: 'text' },
      /schema is invalid: \/type must be equal to one of the allowed values/,
    ],
    ['a misspelt keyword', { type: 'object', requried: ['a'] }, /unknown keyword: "requried"/],
    ['an unknown format', { type: 'string', format: 'phone' }, /unknown format "phone"/],
    ['a remote $ref (never fetched)', { $ref: 'https://schemas.example/x.json' }, /can't resolve reference/],
    ['a dangling local $ref', { $ref: '#/$defs/missing' }, /can't resolve reference #\/\$defs\/missing/],
    ['another dialect', { $schema: 'http://json-schema.org/draft-07/schema#' }, /draft-07/],
    [
      'a pattern that is not a regular expression',
      { type: 'string', pattern: '(' },
      /Invalid regular expression/,
    ],
    ['required that is not a list of names', { required: 'a' }, /\/required must be array/],
  ])('refuses %s', (_label, schema, message) => {
    const compile = () => new JsonSchemaCompiler().compile(schema as JsonSchemaObject);
    expect(compile).toThrow(InvalidJsonSchemaError);
    expect(compile).toThrow(message);
  });

  it('compiles each distinct schema once, failures included', () => {
    const compiler = new JsonSchemaCompiler();
    const first = compiler.compile(weather);
    // Equal content in another object is the same entry: agent loops rebuild their toolset on every attempt.
    expect(compiler.compile(structuredClone(weather))).toBe(first);
    const bad = () => compiler.compile(JSON.parse('{"type":"text"}'));
    const error = (() => {
      try {
        bad();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidJsonSchemaError);
    expect(() => bad()).toThrow(error as Error);
  });

  it('keeps at most maxEntries schemas, dropping the least recently used', () => {
    const compiler = new JsonSchemaCompiler({ maxEntries: 2 });
    const a = compiler.compile({ const: 'a' });
    const b = compiler.compile({ const: 'b' });
    expect(compiler.compile({ const: 'a' })).toBe(a); // a is now the most recent
    compiler.compile({ const: 'c' }); // evicts b
    expect(compiler.compile({ const: 'a' })).toBe(a);
    expect(compiler.compile({ const: 'b' })).not.toBe(b);
  });

  it('keeps schemas apart: the same $id with other content compiles to its own validator', () => {
    const compiler = new JsonSchemaCompiler();
    const id = 'https://tenant.example/answer';
    const numbers = compiler.compile({ $id: id, type: 'number' });
    const strings = compiler.compile({
      $id: id,
      type: 'string',
      $defs: { inner: { $id: 'https://tenant.example/inner', type: 'string' } },
    });
    const again = compiler.compile({
      $id: id,
      type: 'boolean',
      $defs: { inner: { $id: 'https://tenant.example/inner', type: 'boolean' } },
    });
    expect(numbers.validate(1)).toBeNull();
    expect(strings.validate('x')).toBeNull();
    expect(strings.validate(1)?.message).toBe('must be string');
    expect(again.validate(true)).toBeNull();
    // A schema cannot reach another one by its $id.
    expect(() => compiler.compile({ $ref: id })).toThrow(/can't resolve reference/);
  });

  it('matches patterns in linear time: a catastrophic pattern answers at once', () => {
    // With a backtracking engine this takes 2^40 steps.
    const schema = new JsonSchemaCompiler().compile({
      type: 'object',
      properties: { code: { type: 'string', pattern: '^(a+)+$' } },
      patternProperties: { '^(x+x+)+y$': { type: 'string' } },
    });
    expect(schema.validate({ code: `${'a'.repeat(40)}!` })).toEqual({
      instancePath: '/code',
      keyword: 'pattern',
      message: 'must match pattern "^(a+)+$"',
    });
    expect(schema.validate({ code: 'aaaa', [`${'x'.repeat(40)}`]: 1 })).toBeNull();
    expect(schema.validate({ code: 'aaaa', [`${'x'.repeat(40)}y`]: 1 })).toMatchObject({ keyword: 'type' });
    // Unanchored, as JSON Schema says; Unicode classes work.
    const word = new JsonSchemaCompiler().compile({ type: 'string', pattern: '\\p{Lu}\\d{2}' });
    expect(word.validate('ref Ä42 ok')).toBeNull();
    expect(word.validate('ref a42')).toMatchObject({ keyword: 'pattern' });
  });

  it('refuses patterns that cannot be matched in linear time, naming them', () => {
    const compiler = new JsonSchemaCompiler();
    expect(() => compiler.compile({ type: 'string', pattern: '(a)\\1' })).toThrow(InvalidJsonSchemaError);
    expect(() => compiler.compile({ type: 'string', pattern: '^(?=.*\\d).+$' })).toThrow(
      /pattern "\^\(\?=\.\*\\\\d\)\.\+\$" is not supported .*without backreferences or lookarounds/,
    );
  });

  it('accepts boolean schemas', () => {
    const compiler = new JsonSchemaCompiler();
    expect(compiler.compile(true).validate({ anything: 1 })).toBeNull();
    expect(compiler.compile(false).validate(1)).toMatchObject({ keyword: 'false schema' });
  });
});

describe('describeViolation', () => {
  it('names where the violation is', () => {
    expect(describeViolation({ instancePath: '', keyword: 'type', message: 'must be object' })).toBe(
      'the value must be object',
    );
    expect(
      describeViolation({ instancePath: '/a/0', keyword: 'type', message: 'must be string' }, 'the answer'),
    ).toBe('the answer at /a/0 must be string');
  });
});
