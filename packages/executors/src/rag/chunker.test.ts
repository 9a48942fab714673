import { describe, expect, it } from 'vitest';
import { chunkText, estimateTokens, validateChunkOptions } from './chunker.ts';

const opts = (chunkSize: number, chunkOverlap: number) => ({ chunkSize, chunkOverlap });

describe('chunkText', () => {
  it('returns one chunk for short text and none for blank text', () => {
    expect(chunkText('  Hello world.  ', opts(100, 10))).toEqual([
      { index: 0, content: 'Hello world.', start: 2, end: 14 },
    ]);
    expect(chunkText('', opts(100, 10))).toEqual([]);
    expect(chunkText(' \n\n\t ', opts(100, 10))).toEqual([]);
  });

  it('never exceeds the size and never yields empty chunks', () => {
    const text = Array.from(
      { length: 200 },
      (_, i) => `Sentence number ${i} talks about topic ${i % 13}.`,
    ).join(' ');
    for (const [size, overlap] of [
      [50, 0],
      [50, 10],
      [120, 60],
      [7, 3],
      [1, 0],
    ] as const) {
      const chunks = chunkText(text, opts(size, overlap));
      expect(chunks.length).toBeGreaterThan(1);
      for (const c of chunks) {
        expect(c.content.length).toBeGreaterThan(0);
        expect(c.content.length).toBeLessThanOrEqual(size);
        expect(c.content).toBe(c.content.trim());
      }
      expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    }
  });

  it('covers the whole text in order', () => {
    const text =
      'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma';
    const chunks = chunkText(text, opts(20, 0));
    expect(chunks.map((c) => c.content).join(' ')).toBe(text);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]?.start).toBeGreaterThan(chunks[i - 1]?.start ?? -1);
    }
  });

  it('prefers paragraph, then sentence, then word boundaries', () => {
    const paragraphs = `${'a'.repeat(30)} end.\n\n${'b'.repeat(30)} end.`;
    expect(chunkText(paragraphs, opts(50, 0)).map((c) => c.content)).toEqual([
      `${'a'.repeat(30)} end.`,
      `${'b'.repeat(30)} end.`,
    ]);

    const sentences = 'The first sentence is here. The second sentence is longer than that one.';
    expect(chunkText(sentences, opts(40, 0))[0]?.content).toBe('The first sentence is here.');

    const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit';
    for (const c of chunkText(words, opts(16, 0))) {
      expect(words.split(' ')).toEqual(expect.arrayContaining(c.content.split(' ')));
    }
  });

  it('overlaps consecutive chunks, starting at a word', () => {
    const text = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen';
    const chunks = chunkText(text, opts(30, 12));
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1];
      const cur = chunks[i];
      if (prev === undefined || cur === undefined) throw new Error('unreachable');
      expect(cur.start).toBeLessThan(prev.end);
      expect(cur.start).toBeGreaterThan(prev.start);
      const firstWord = cur.content.split(' ')[0] ?? '';
      expect(text.split(' ')).toContain(firstWord);
    }
  });

  it('cuts words longer than the window', () => {
    const chunks = chunkText('x'.repeat(25), opts(10, 3));
    expect(chunks.every((c) => c.content.length <= 10)).toBe(true);
    expect(chunks[0]?.content).toBe('x'.repeat(10));
    expect(chunks.length).toBeGreaterThanOrEqual(3);
  });

  it('normalises CRLF line endings', () => {
    const chunks = chunkText('first line\r\nsecond line', opts(100, 0));
    expect(chunks[0]?.content).toBe('first line\nsecond line');
  });

  it('validates size and overlap', () => {
    expect(() => validateChunkOptions(opts(0, 0))).toThrow(/chunkSize/);
    expect(() => validateChunkOptions(opts(10, 10))).toThrow(/chunkOverlap/);
    expect(() => validateChunkOptions(opts(10, -1))).toThrow(/chunkOverlap/);
    expect(() => validateChunkOptions(opts(10.5, 1))).toThrow(/chunkSize/);
    expect(() => chunkText('x', opts(5, 5))).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('estimates tokens at about four characters each', () => {
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
    expect(estimateTokens('')).toBe(1);
  });
});
