import { describe, expect, it } from 'vitest';
import { createRedactor, inputContentAttributes, outputContentAttributes } from './content-capture.ts';
import type { ChatResponse } from './provider.ts';

describe('createRedactor', () => {
  it('replaces secrets, configured patterns and common credential shapes', () => {
    const redact = createRedactor({ redact: ['acct-\\d+', /token=\w+/i], secrets: ['hunter2-secret'] });
    expect(
      redact('pw hunter2-secret acct-991 TOKEN=abc Bearer abc1defghijk sk-proj-aaaaaaaaaa1aaaaaaaaa ok'),
    ).toBe('pw [REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] ok');
  });
});

describe('inputContentAttributes / outputContentAttributes', () => {
  const redact = createRedactor({ redact: [] });
  const response: ChatResponse = {
    id: 'r',
    model: 'm',
    message: { text: 'Calling.', toolCalls: [{ id: 'c1', name: 'lookup', arguments: { q: 'x' } }] },
    finishReason: 'tool_calls',
    providerFinishReason: 'tool_calls',
    usage: {
      inputTokens: 1,
      outputTokens: 1,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
    },
  };

  it('is empty when capture is off', () => {
    const off = { enabled: false, maxLength: 100, redact: [] };
    expect(inputContentAttributes(off, redact, [{ role: 'user', content: 'hi' }])).toEqual({});
    expect(outputContentAttributes(off, redact, response)).toEqual({});
  });

  it('follows the GenAI message schemas', () => {
    const on = { enabled: true, maxLength: 10_000, redact: [] };
    const attributes = {
      ...inputContentAttributes(on, redact, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'c0', name: 'lookup', arguments: { q: 'y' } }],
        },
        { role: 'tool', toolCallId: 'c0', content: 'found' },
      ]),
      ...outputContentAttributes(on, redact, response),
    };
    expect(JSON.parse(attributes['gen_ai.system_instructions'] as string)).toEqual([
      { type: 'text', content: 'Be brief.' },
    ]);
    expect(JSON.parse(attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c0', name: 'lookup', arguments: { q: 'y' } }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c0', result: 'found' }] },
    ]);
    expect(JSON.parse(attributes['gen_ai.output.messages'] as string)).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: 'Calling.' },
          { type: 'tool_call', id: 'c1', name: 'lookup', arguments: { q: 'x' } },
        ],
        finish_reason: 'tool_call',
      },
    ]);
  });

  it('truncates content to maxLength, keeping the JSON valid where it can', () => {
    const attributes = inputContentAttributes({ enabled: true, maxLength: 120, redact: [] }, redact, [
      { role: 'user', content: 'x'.repeat(500) },
    ]);
    const input = attributes['gen_ai.input.messages'] as string;
    expect(input.length).toBeLessThanOrEqual(120 + '…[truncated]'.length);
    expect(input).toContain('…[truncated]');
  });
});
