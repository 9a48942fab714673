import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.ts';

describe('SseParser', () => {
  it('parses events split anywhere, with any line ending, skipping comments', () => {
    const stream =
      ': ping\r\n\r\nid: 1\nevent: run.queued\ndata: {"seq":1}\n\nid: 2\revent: node.started\rdata: a\rdata: b\r\r';
    for (let size = 1; size <= stream.length; size++) {
      const parser = new SseParser();
      const messages = [];
      for (let i = 0; i < stream.length; i += size) messages.push(...parser.push(stream.slice(i, i + size)));
      expect(messages).toEqual([
        { id: '1', event: 'run.queued', data: '{"seq":1}' },
        { id: '2', event: 'node.started', data: 'a\nb' },
      ]);
    }
  });

  it('does not dispatch an event without data and keeps the last id', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\n\ndata: x\n\n')).toEqual([{ id: '7', event: 'message', data: 'x' }]);
  });
});
