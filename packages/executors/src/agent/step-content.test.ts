import { type JsonValue, STORED_JSON_MAX_DEPTH } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../llm/content-capture.ts';
import { storedJson, storedText, toolResultContent } from './step-content.ts';

const redact = createRedactor({ redact: ['ACCT-\\d+'], secrets: ['hunter2-secret'] });

describe('stored step content', () => {
  it('redacts secrets and patterns in text, JSON strings and keys, and drops NUL characters', () => {
    expect(storedText('pw hunter2-secret for ACCT-991 \u0000!', { redact, maxChars: 100 })).toBe(
      'pw [REDACTED] for [REDACTED] !',
    );
    expect(
      storedJson({ 'ACCT-1': ['hunter2-secret', 3, null, { ok: true }] }, { redact, maxChars: 100 }),
    ).toEqual({ '[REDACTED]': ['[REDACTED]', 3, null, { ok: true }] });
    expect(storedText(null, { redact, maxChars: 10 })).toBeNull();
  });

  it('cuts long values with a marker, JSON ones as their text', () => {
    expect(storedText('abcdefghij', { redact, maxChars: 4 })).toBe('abcd…[truncated 6 characters]');
    expect(storedJson({ a: 'x'.repeat(20) }, { redact, maxChars: 10 })).toBe(
      '{"a":"xxxx…[truncated 18 characters]',
    );
  });

  it('feeds strings as they are and other values as JSON to the model', () => {
    expect(toolResultContent('plain', 100)).toBe('plain');
    expect(toolResultContent({ error: 'boom' }, 100)).toBe('{"error":"boom"}');
    expect(toolResultContent('x'.repeat(8), 5)).toBe('xxxxx…[truncated 3 characters]');
  });

  it('stores and feeds back JSON nested deeper than the stack allows, cut at the storable depth', () => {
    let deep: JsonValue = 'hunter2-secret';
    for (let level = 0; level < 100_000; level++) deep = level % 2 === 0 ? [deep] : { a: deep };
    const marker = `[removed: nested deeper than ${STORED_JSON_MAX_DEPTH} levels]`;
    const stored = storedJson({ body: deep }, { redact, maxChars: 1_000_000 });
    expect(JSON.stringify(stored)).toContain(marker);
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(toolResultContent({ body: deep }, 1_000_000)).toContain(marker);
  });
});
