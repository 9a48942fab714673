import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { renderUrlTemplate, urlTemplateOrigin, urlTemplateProblem } from './url-template.ts';

/** Characters that mean something in a URL, plus some that parsers drop, fold or choke on. */
const URL_CHARS = [
  ':',
  '/',
  '\\',
  '@',
  '?',
  '#',
  '&',
  '=',
  '.',
  '%',
  '%2e',
  '%2F',
  '[',
  ']',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '{',
  '}',
  '{{',
  '}}',
  '+',
  'a',
  'Z',
  '0',
  '9',
  'é',
  '\u3002',
  '\uFF0E',
  '\uD800',
  'ﬀ',
  'localhost',
  '127.0.0.1',
  '[::1]',
  'evil.example',
  '//',
  '..',
  ':8443',
];

/** Hostile strings: URL syntax, control characters, lone surrogates, any Unicode. */
const hostileString = fc.oneof(
  fc.string({ unit: fc.constantFrom(...URL_CHARS), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 12 }),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const origin = fc.record({
  scheme: fc.constantFrom('http', 'https', 'HTTP', 'Https'),
  host: fc.oneof(
    fc.domain(),
    fc.ipV4(),
    fc.ipV6().map((a) => `[${a}]`),
    fc.constantFrom('allowed.example', 'api.example.com', 'xn--bcher-kva.example'),
  ),
  port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
});

/** Static text between placeholders: anything but braces (which would start another placeholder). */
const staticText = fc.string({
  unit: fc.constantFrom(...URL_CHARS.filter((c) => !c.includes('{') && !c.includes('}'))),
  maxLength: 6,
});

const VARIABLES = ['input.a', 'input.b', 'nodes.prev.output.c', 'args.d'];
const scopeOf = (values: unknown[]) => ({
  input: { a: values[0], b: values[1] },
  nodes: { prev: { output: { c: values[2] } } },
  args: { d: values[3] },
});

/** A safe template: a fixed origin, its terminator, then static text and placeholders in any order. */
const safeTemplate = fc
  .tuple(
    origin,
    fc.constantFrom('/', '?', '#'),
    fc.array(fc.oneof(staticText, fc.constantFrom(...VARIABLES.map((v) => `{{${v}}}`))), { maxLength: 8 }),
  )
  .map(([o, terminator, rest]) => ({
    template: `${o.scheme}://${o.host}${o.port === undefined ? '' : `:${o.port}`}${terminator}${rest.join('')}`,
    origin: new URL(`${o.scheme.toLowerCase()}://${o.host}${o.port === undefined ? '' : `:${o.port}`}/`)
      .origin,
  }));

describe('URL templates (property-based)', () => {
  it('every value renders inside the template origin, or the render is refused with a node error', () => {
    fc.assert(
      fc.property(safeTemplate, fc.array(hostileValue, { minLength: 4, maxLength: 4 }), (t, values) => {
        expect(urlTemplateProblem(t.template)).toBeNull();
        expect(urlTemplateOrigin(t.template)).toBe(t.origin);
        let rendered: string;
        try {
          rendered = renderUrlTemplate(t.template, scopeOf(values));
        } catch (error) {
          // Only a "." or ".." path segment made of values; never an origin change.
          expect(error).toBeInstanceOf(FlowtraceError);
          expect((error as FlowtraceError).code).toBe('invalid_input');
          return;
        }
        const url = new URL(rendered);
        expect(url.origin).toBe(t.origin);
        expect(url.username).toBe('');
        expect(url.password).toBe('');
      }),
      { numRuns: 1_000 },
    );
  });

  it('a value in a path segment comes back whole, as one segment', () => {
    fc.assert(
      fc.property(origin, hostileValue, (o, value) => {
        const base = `${o.scheme}://${o.host}${o.port === undefined ? '' : `:${o.port}`}`;
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        let rendered: string;
        try {
          rendered = renderUrlTemplate(`${base}/items/{{input.a}}/end`, { input: { a: value } });
        } catch (error) {
          expect(error).toMatchObject({ code: 'invalid_input' });
          expect(['.', '..']).toContain(text);
          return;
        }
        const url = new URL(rendered);
        const segments = url.pathname.split('/');
        expect(segments).toHaveLength(4);
        expect(segments[1]).toBe('items');
        expect(segments[3]).toBe('end');
        expect(decodeURIComponent(segments[2] ?? '')).toBe(text.toWellFormed());
      }),
      { numRuns: 1_000 },
    );
  });

  it('a value in the query is one parameter value: it adds no parameter and no fragment', () => {
    fc.assert(
      fc.property(origin, hostileValue, hostileValue, (o, a, b) => {
        const base = `${o.scheme}://${o.host}${o.port === undefined ? '' : `:${o.port}`}`;
        const url = new URL(renderUrlTemplate(`${base}/s?k={{input.a}}&j={{input.b}}`, { input: { a, b } }));
        expect([...url.searchParams.keys()]).toEqual(['k', 'j']);
        const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)).toWellFormed();
        expect(url.searchParams.get('k')).toBe(text(a));
        expect(url.searchParams.get('j')).toBe(text(b));
        expect(url.hash).toBe('');
        expect(url.pathname).toBe('/s');
      }),
      { numRuns: 1_000 },
    );
  });

  it('any template the check accepts keeps its origin for every value; the rest are refused at render', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'http://',
        'https://',
        'http:',
        '//',
        'allowed.example',
        '127.0.0.1',
        '[::1]',
        ':8080',
        ':',
        '/',
        '?',
        '#',
        '@',
        '\\',
        ' ',
        '.',
        '{{input.a}}',
        '{{input.b}}',
        '{{ input.a }}',
        '{',
        '}',
      ),
      staticText,
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 10 }).map((p) => p.join('')),
        fc.array(hostileValue, { minLength: 2, maxLength: 2 }),
        (template, values) => {
          const scope = { input: { a: values[0], b: values[1] } };
          const problem = urlTemplateProblem(template);
          if (problem !== null) {
            expect(() => renderUrlTemplate(template, scope)).toThrow(
              expect.objectContaining({ code: 'invalid_definition' }),
            );
            return;
          }
          let rendered: string;
          try {
            rendered = renderUrlTemplate(template, scope);
          } catch (error) {
            // A value-made dot segment, or a malformed placeholder (`{{}}`); never an origin change.
            expect(error).toBeInstanceOf(FlowtraceError);
            const { code, message } = error as FlowtraceError;
            expect(code === 'invalid_input' || /template placeholder/.test(message), message).toBe(true);
            return;
          }
          expect(new URL(rendered).origin).toBe(urlTemplateOrigin(template));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
