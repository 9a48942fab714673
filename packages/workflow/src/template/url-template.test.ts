import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import {
  assertUrlTemplate,
  renderUrlTemplate,
  urlTemplateOrigin,
  urlTemplateProblem,
} from './url-template.ts';

const scope = {
  input: { p: ':8443/x', id: 'c/42', q: 'a&b=c#frag', host: 'evil.example', dots: '..', one: '.' },
  nodes: { prev: { output: { n: 7, obj: { a: 1 } } } },
  run: { id: 'run-1' },
};

describe('urlTemplateProblem', () => {
  it.each([
    'https://api.example.com/customers/{{input.id}}',
    'http://127.0.0.1:8080/{{input.id}}',
    'http://[::1]:9000/x/{{input.id}}',
    'https://api.example.com?id={{input.id}}',
    'https://api.example.com#{{input.id}}',
    'HTTPS://API.example.com/{{input.id}}',
    '  https://api.example.com/a',
    'https://api.example.com',
    'https://api.example.com/static',
  ])('accepts %s', (template) => {
    expect(urlTemplateProblem(template)).toBeNull();
  });

  it.each([
    ['http://allowed.example{{input.p}}', /end them with "\/", "\?" or "#"/],
    ['http://allowed.example:{{input.p}}/x', /end them with/],
    ['http://{{input.host}}/x', /end them with/],
    ['http://a{{input.host}}.example/x', /end them with/],
    ['{{input.url}}', /must start with a fixed http/],
    ['{{input.scheme}}://api.example.com/', /must start with a fixed http/],
    ['http{{input.s}}://api.example.com/', /must start with a fixed http/],
    ['ftp://files.example.com/{{input.id}}', /must start with a fixed http/],
    ['http://user:pw@api.example.com/{{input.id}}', /user info/],
    ['http://api.example.com\\{{input.id}}', /end them with/],
    ['http://api.exa mple.com/{{input.id}}', /end them with/],
    ['/relative/{{input.id}}', /must start with a fixed http/],
  ])('refuses %s', (template, why) => {
    expect(urlTemplateProblem(template)).toMatch(why);
  });

  it('throws invalid_definition naming the node and field', () => {
    expect(() =>
      assertUrlTemplate('http://allowed.example{{input.p}}', { nodeId: 'call', field: 'config.url' }),
    ).toThrow(/node "call": config\.url "http:\/\/allowed\.example\{\{input\.p\}\}" must spell out its host/);
    const whole = () => assertUrlTemplate('{{input.url}}', { nodeId: 'call' });
    expect(whole).toThrow(FlowtraceError);
    expect(whole).toThrow(expect.objectContaining({ code: 'invalid_definition', nodeId: 'call' }));
  });
});

describe('renderUrlTemplate', () => {
  it('percent-encodes values in the path, the query and the fragment', () => {
    expect(renderUrlTemplate('https://api.example.com/customers/{{input.id}}', scope)).toBe(
      'https://api.example.com/customers/c%2F42',
    );
    expect(
      renderUrlTemplate('https://api.example.com/s?q={{input.q}}&n={{nodes.prev.output.n}}', scope),
    ).toBe('https://api.example.com/s?q=a%26b%3Dc%23frag&n=7');
    expect(renderUrlTemplate('https://api.example.com/s#{{input.q}}', scope)).toBe(
      'https://api.example.com/s#a%26b%3Dc%23frag',
    );
    expect(renderUrlTemplate('https://api.example.com/o/{{nodes.prev.output.obj}}', scope)).toBe(
      'https://api.example.com/o/%7B%22a%22%3A1%7D',
    );
  });

  it('keeps the origin when a value looks like a port, a host or a URL', () => {
    expect(renderUrlTemplate('http://allowed.example/{{input.p}}', scope)).toBe(
      'http://allowed.example/%3A8443%2Fx',
    );
    expect(renderUrlTemplate('http://allowed.example/?u=//{{input.host}}', scope)).toBe(
      'http://allowed.example/?u=//evil.example',
    );
  });

  it('refuses values that make "." or ".." path segments, but not dots inside a segment or in the query', () => {
    expect(() => renderUrlTemplate('https://api.example.com/a/{{input.dots}}/b', scope)).toThrow(
      /path segment "\.\."/,
    );
    expect(() => renderUrlTemplate('https://api.example.com/a/{{input.one}}{{input.one}}', scope)).toThrow(
      /path segment/,
    );
    expect(() => renderUrlTemplate('https://api.example.com/a/{{input.one}}', scope)).toThrow(/path segment/);
    expect(renderUrlTemplate('https://api.example.com/a/v{{input.dots}}', scope)).toBe(
      'https://api.example.com/a/v..',
    );
    expect(renderUrlTemplate('https://api.example.com/a?x={{input.dots}}', scope)).toBe(
      'https://api.example.com/a?x=..',
    );
  });

  it('refuses an unsafe template at render time too (definitions stored before the rule)', () => {
    expect(() => renderUrlTemplate('http://allowed.example{{input.p}}', scope, { nodeId: 'n' })).toThrow(
      expect.objectContaining({ code: 'invalid_definition', nodeId: 'n' }),
    );
  });

  it('reports a missing variable as template_variable_missing', () => {
    expect(() => renderUrlTemplate('https://api.example.com/{{input.nope}}', scope)).toThrow(
      expect.objectContaining({ code: 'template_variable_missing' }),
    );
  });

  it('encodes lone surrogates instead of failing', () => {
    expect(renderUrlTemplate('https://api.example.com/{{input.s}}', { input: { s: 'a\uD800b' } })).toBe(
      'https://api.example.com/a%EF%BF%BDb',
    );
  });

  it('names the fixed origin', () => {
    expect(urlTemplateOrigin('HTTPS://API.Example.com:443/x/{{input.id}}')).toBe('https://api.example.com');
    expect(urlTemplateOrigin('http://127.0.0.1:8080?x={{input.id}}')).toBe('http://127.0.0.1:8080');
  });
});
