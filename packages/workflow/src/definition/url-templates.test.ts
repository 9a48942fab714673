import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { renderUrlTemplate, urlTemplateOrigin, urlTemplateProblem } from '../template/url-template.ts';
import { parseWorkflowDefinition } from './parse-definition.ts';

const connector = (url: string) => ({
  name: 'wf',
  nodes: [{ id: 'call', type: 'connector', config: { url } }],
});
const agentWithTool = (url: string) => ({
  name: 'wf',
  nodes: [
    {
      id: 'agent',
      type: 'agent',
      config: {
        name: 'a',
        provider: 'simulated',
        model: 'm',
        prompt: 'p',
        tools: [
          { type: 'rag', name: 'docs', description: 'd', collection: 'c' },
          { type: 'http', name: 'crm', description: 'd', url },
        ],
      },
    },
  ],
});

describe('URL templates at registration', () => {
  it('accepts templates whose scheme, host and port are fixed', () => {
    expect(() => parseWorkflowDefinition(connector('https://crm.example.com/c/{{input.id}}'))).not.toThrow();
    expect(() => parseWorkflowDefinition(agentWithTool('http://127.0.0.1:9/x?q={{args.q}}'))).not.toThrow();
  });

  it('refuses a connector URL whose host or port a value could change, naming node and field', () => {
    expect(() => parseWorkflowDefinition(connector('http://allowed.example{{input.p}}'))).toThrow(
      expect.objectContaining({
        code: 'invalid_definition',
        nodeId: 'call',
        message: expect.stringMatching(/^node "call": config\.url .* must spell out its host/),
      }),
    );
    expect(() => parseWorkflowDefinition(connector('{{input.url}}'))).toThrow(
      expect.objectContaining({ code: 'invalid_definition', nodeId: 'call' }),
    );
  });

  it("refuses an agent http tool's URL the model's arguments could redirect", () => {
    expect(() => parseWorkflowDefinition(agentWithTool('https://{{args.host}}/x'))).toThrow(
      expect.objectContaining({
        code: 'invalid_definition',
        nodeId: 'agent',
        message: expect.stringMatching(/config\.tools\[1\]\.url/),
      }),
    );
  });

  it('registers only connector URLs whose origin no value can change (property)', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'http://',
        'https://',
        'crm.example.com',
        '127.0.0.1',
        ':8443',
        '/',
        '?',
        '#',
        '@',
        '.',
        '{{input.a}}',
        '{{nodes.x.output}}',
      ),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 8 }).map((p) => p.join('')),
        fc.string(),
        (url, value) => {
          let accepted: boolean;
          try {
            parseWorkflowDefinition(connector(url));
            accepted = true;
          } catch (error) {
            expect(error).toBeInstanceOf(FlowtraceError);
            accepted = false;
          }
          if (!accepted) return;
          expect(urlTemplateProblem(url)).toBeNull();
          let rendered: string;
          try {
            rendered = renderUrlTemplate(url, { input: { a: value } });
          } catch (error) {
            expect(error).toMatchObject({ code: 'invalid_input' });
            return;
          }
          expect(new URL(rendered).origin).toBe(urlTemplateOrigin(url));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
