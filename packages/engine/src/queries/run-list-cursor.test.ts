import { describe, expect, it } from 'vitest';
import { decodeRunListCursor, encodeRunListCursor } from './run-list-cursor.ts';

describe('run list cursor', () => {
  it('round-trips a position', () => {
    const position = {
      createdAt: new Date('2026-12-03T08:00:00.123Z'),
      id: '0b0c6a8e-7d0e-4bb5-9d6a-2d3f1c0e9a11',
    };
    expect(decodeRunListCursor(encodeRunListCursor(position))).toEqual(position);
  });

  it('refuses what it did not issue', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const raw of [
      '',
      'not-base64-json',
      encode({ t: '2026-12-03T08:00:00.123Z' }),
      encode({ t: 'yesterday', i: '0b0c6a8e-7d0e-4bb5-9d6a-2d3f1c0e9a11' }),
      encode({ t: '2026-12-03T08:00:00.123Z', i: "' or 1=1 --" }),
      'x'.repeat(500),
    ]) {
      expect(decodeRunListCursor(raw)).toBeNull();
    }
  });
});
