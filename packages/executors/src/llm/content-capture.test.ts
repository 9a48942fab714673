import { describe, expect, it } from 'vitest';
import {
  createRedactor,
  inputContentAttributes,
  outputContentAttributes,
  parseContentCaptureFromEnv,
} from './content-capture.ts';
import type { ChatResponse } from './provider.ts';

describe('parseContentCaptureFromEnv', () => {
  it('is off by default', () => {
    expect(parseContentCaptureFromEnv({})).toEqual({ enabled: false, maxLength: 16_384, redact: [] });
    expect(
      parseContentCaptureFromEnv({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'false' }).enabled,
    ).toBe(false);
  });

  it('turns on with the OpenTelemetry GenAI variable and reads patterns and length', () => {
    expect(
      parseContentCaptureFromEnv({
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'TRUE',
        FLOWTRACE_REDACT_PATTERNS: 'acct-\\d+, \\b\\d{16}\\b',
        FLOWTRACE_CAPTURE_MAX_LENGTH: '2000',
      }),
    ).toEqual({ enabled: true, maxLength: 2000, redact: ['acct-\\d+', '\\b\\d{16}\\b'] });
    expect(
      parseContentCaptureFromEnv({
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'span_only',
        FLOWTRACE_REDACT_PATTERNS: '["a{2,},b", "c"]',
      }),
    ).toMatchObject({ enabled: true, redact: ['a{2,},b', 'c'] });
  });

  it('rejects an invalid pattern or length instead of silently not redacting', () => {
    expect(() => parseContentCaptureFromEnv({ FLOWTRACE_REDACT_PATTERNS: '(unclosed' })).toThrow(
      /invalid redact pattern/,
    );
    expect(() => parseContentCaptureFromEnv({ FLOWTRACE_CAPTURE_MAX_LENGTH: '-1' })).toThrow(
      /positive integer/,
    );
  });
});

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
