import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { jsonTemplateStrings, renderJsonTemplate, renderTemplate, templateReferences } from './template.ts';

const scope = {
  input: { topic: 'billing', count: 3, tags: ['a', 'b'], nested: { ok: true }, none: null },
  nodes: { classify: { output: { label: 'refund', scores: [0.9, 0.1] } } },
  args: { city: 'Rome' },
  run: { id: 'run-1' },
};

describe('templateReferences', () => {
  it('parses every placeholder with its root, and the node id of node outputs', () => {
    expect(
      templateReferences(
        '{{input.topic}} {{ nodes.classify.output.scores[0] }} {{args.city}} {{run.id}} {{nodes.a-b.output}}',
      ),
    ).toEqual([
      { path: 'input.topic', root: 'input' },
      { path: 'nodes.classify.output.scores[0]', root: 'nodes', nodeId: 'classify' },
      { path: 'args.city', root: 'args' },
      { path: 'run.id', root: 'run' },
      { path: 'nodes.a-b.output', root: 'nodes', nodeId: 'a-b' },
    ]);
    expect(templateReferences('no placeholders, { single } braces')).toEqual([]);
  });

  it.each([
    ['{{ secrets.key }}', /must start with one of input, nodes, args, run/],
    ['{{ nodes.classify.label }}', /must read a node output as nodes\.<id>\.output/],
    ['{{ nodes }}', /must read a node output as nodes\.<id>\.output/],
    ['{{ input..topic }}', /is not a path like input\.field/],
    ['{{ input[0 }}', /is not a path like input\.field/],
    ['{{ 1input }}', /is not a path like input\.field/],
    ['{{ }}', /is not a path like input\.field/],
    ['{{ input.a b }}', /is not a path like input\.field/],
  ])('refuses %s with invalid_definition naming the node', (template, why) => {
    const parse = () => templateReferences(template, { nodeId: 'ask' });
    expect(parse).toThrow(FlowtraceError);
    expect(parse).toThrow(
      expect.objectContaining({ code: 'invalid_definition', statusCode: 400, nodeId: 'ask' }),
    );
    expect(parse).toThrow(/^node "ask": template placeholder /);
    expect(parse).toThrow(why);
  });

  it('leaves the node out of the message and the error when none is named', () => {
    expect(() => templateReferences('{{ env.HOME }}')).toThrow(
      expect.objectContaining({ code: 'invalid_definition', nodeId: undefined }),
    );
    expect(() => templateReferences('{{ env.HOME }}')).toThrow(/^template placeholder "\{\{env\.HOME\}\}"/);
  });
});

describe('renderTemplate', () => {
  it('inserts strings as they are and other values as JSON', () => {
    expect(
      renderTemplate(
        'About {{ input.topic }} x{{input.count}} {{input.tags}} {{input.nested}} {{input.none}} {{input.tags[1]}}',
        scope,
      ),
    ).toBe('About billing x3 ["a","b"] {"ok":true} null b');
    expect(renderTemplate('{{nodes.classify.output.label}}/{{args.city}}/{{run.id}}', scope)).toBe(
      'refund/Rome/run-1',
    );
  });

  it('leaves text without placeholders alone and renders each placeholder once', () => {
    expect(renderTemplate('plain { text } and {single}', scope)).toBe('plain { text } and {single}');
    // A value that looks like a placeholder is inserted as text, never rendered again.
    expect(renderTemplate('{{input.q}}', { input: { q: '{{input.secret}}', secret: 's3cret' } })).toBe(
      '{{input.secret}}',
    );
  });

  it('throws template_variable_missing naming the variable and the missing segment', () => {
    const render = () =>
      renderTemplate('Hi {{ input.user.name }}', { input: { user: {} } }, { nodeId: 'greet' });
    expect(render).toThrow(
      expect.objectContaining({
        code: 'template_variable_missing',
        statusCode: 422,
        nodeId: 'greet',
        details: { variable: 'input.user.name' },
      }),
    );
    expect(render).toThrow('node "greet": template variable "input.user.name" is not defined (no "name")');
    expect(() => renderTemplate('{{input.tags[5]}}', scope)).toThrow(/no "5"/);
    expect(() => renderTemplate('{{input.topic.length}}', scope)).toThrow(/no "length"/);
    expect(() => renderTemplate('{{nodes.other.output}}', scope)).toThrow(/no "other"/);
    expect(() => renderTemplate('{{args.city}}', { input: {} })).toThrow(/no "args"/);
  });

  it('reads own properties only, never the prototype chain', () => {
    for (const path of [
      'input.constructor',
      'input.__proto__',
      'input.toString',
      'input.nested.hasOwnProperty',
    ])
      expect(() => renderTemplate(`{{${path}}}`, scope), path).toThrow(
        expect.objectContaining({ code: 'template_variable_missing' }),
      );
  });

  it('refuses a malformed placeholder before looking anything up', () => {
    expect(() => renderTemplate('{{ process.env.HOME }}', scope, { nodeId: 'n' })).toThrow(
      expect.objectContaining({ code: 'invalid_definition', nodeId: 'n' }),
    );
  });
});

describe('renderJsonTemplate', () => {
  it('keeps the type of a string that is exactly one placeholder', () => {
    expect(renderJsonTemplate('{{ input.tags }}', scope)).toEqual(['a', 'b']);
    expect(renderJsonTemplate('{{input.count}}', scope)).toBe(3);
    expect(renderJsonTemplate('{{input.nested}}', scope)).toEqual({ ok: true });
    expect(renderJsonTemplate('{{input.none}}', scope)).toBeNull();
  });

  it('renders any other string as text', () => {
    expect(renderJsonTemplate('n={{input.count}}', scope)).toBe('n=3');
    expect(renderJsonTemplate(' {{input.count}}', scope)).toBe(' 3');
    // Two placeholders side by side are text, not one placeholder spanning both.
    expect(renderJsonTemplate('{{input.count}}{{input.topic}}', scope)).toBe('3billing');
  });

  it('renders strings at any depth, leaves keys and other values as they are, and does not mutate', () => {
    const template = {
      '{{input.topic}}': 'key stays',
      list: ['{{input.topic}}', 7, false, null, { deep: ['{{nodes.classify.output.scores}}'] }],
      flag: true,
    };
    const copy = structuredClone(template);
    expect(renderJsonTemplate(template, scope)).toEqual({
      '{{input.topic}}': 'key stays',
      list: ['billing', 7, false, null, { deep: [[0.9, 0.1]] }],
      flag: true,
    });
    expect(template).toEqual(copy);
  });

  it('throws for a missing variable inside a structure, naming the node', () => {
    expect(() => renderJsonTemplate({ a: [{ b: '{{input.missing}}' }] }, scope, { nodeId: 'call' })).toThrow(
      expect.objectContaining({ code: 'template_variable_missing', nodeId: 'call' }),
    );
  });
});

describe('jsonTemplateStrings', () => {
  it('collects every string value at any depth, not keys or other values', () => {
    expect(jsonTemplateStrings({ '{{key}}': 'a', list: ['b', 1, null, { c: 'c', d: [true, 'd'] }] })).toEqual(
      ['a', 'b', 'c', 'd'],
    );
    expect(jsonTemplateStrings('only')).toEqual(['only']);
    expect(jsonTemplateStrings(42)).toEqual([]);
    expect(jsonTemplateStrings(null)).toEqual([]);
  });
});
