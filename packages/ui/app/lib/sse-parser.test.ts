import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser.ts';

describe('SseParser', () => {
  it('dispatches messages with their id and event type, joining data lines', () => {
    const parser = new SseParser();
    const messages = parser.feed('id: 3\nevent: node.started\ndata: {"a":1,\ndata: "b":2}\n\n');
    expect(messages).toEqual([{ id: '3', event: 'node.started', data: '{"a":1,\n"b":2}' }]);
    expect(parser.lastEventId).toBe('3');
  });

  it('ignores comments (heartbeats) and messages without data', () => {
    const parser = new SseParser();
    expect(parser.feed(': ping\n\nid: 7\nevent: x\n\n: ping\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('7');
    expect(parser.feed('data: y\n\n')).toEqual([{ id: '7', event: 'message', data: 'y' }]);
  });

  it('reassembles lines split across chunks, including a CRLF split between chunks', () => {
    const parser = new SseParser();
    const text = 'id: 1\r\nevent: run.started\r\ndata: {"x":"é"}\r\n\r\nid: 2\rdata: z\r\r';
    const messages = [];
    for (let i = 0; i < text.length; i += 1) messages.push(...parser.feed(text[i] as string));
    expect(messages).toEqual([
      { id: '1', event: 'run.started', data: '{"x":"é"}' },
      { id: '2', event: 'message', data: 'z' },
    ]);
  });

  it('keeps a field without a colon and strips only one leading space', () => {
    const parser = new SseParser();
    expect(parser.feed('data\ndata:  two\n\n')).toEqual([{ id: null, event: 'message', data: '\n two' }]);
  });

  it('does not dispatch an unterminated message', () => {
    const parser = new SseParser();
    expect(parser.feed('id: 4\ndata: partial')).toEqual([]);
    expect(parser.feed('\n\n')).toEqual([{ id: '4', event: 'message', data: 'partial' }]);
  });
});
