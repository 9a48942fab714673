import { FlowtraceError } from '@flowtrace/workflow';

export interface ChunkOptions {
  /** Maximum characters per chunk. */
  chunkSize: number;
  /** Characters the next chunk repeats from the end of the previous one; less than `chunkSize`. */
  chunkOverlap: number;
}

export interface TextChunk {
  index: number;
  content: string;
  /** Offsets into the normalised text (line endings as `\n`). */
  start: number;
  end: number;
}

export const DEFAULT_CHUNK_OPTIONS: ChunkOptions = { chunkSize: 1000, chunkOverlap: 150 };

/** Throws `invalid_input` unless size and overlap are integers with 1 <= size and 0 <= overlap < size. */
export function validateChunkOptions(options: ChunkOptions): ChunkOptions {
  const { chunkSize, chunkOverlap } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new FlowtraceError('invalid_input', `chunkSize must be a positive integer (got ${chunkSize})`);
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap >= chunkSize) {
    throw new FlowtraceError(
      'invalid_input',
      `chunkOverlap must be an integer from 0 to chunkSize - 1 (got ${chunkOverlap} with chunkSize ${chunkSize})`,
    );
  }
  return options;
}

/**
 * Splits text into chunks of at most `chunkSize` characters. Each chunk ends at the best boundary in
 * the second half of its window: a paragraph break, else a sentence end, else a space; a word longer
 * than the window is cut. The next chunk starts `chunkOverlap` characters before the previous end,
 * moved forward to the start of a word. Chunks are trimmed; whitespace-only chunks are dropped.
 */
export function chunkText(text: string, options: ChunkOptions = DEFAULT_CHUNK_OPTIONS): TextChunk[] {
  const { chunkSize, chunkOverlap } = validateChunkOptions(options);
  const normalized = text.replace(/\r\n?/g, '\n');
  const chunks: TextChunk[] = [];
  let start = skipWhitespace(normalized, 0);
  while (start < normalized.length) {
    const end = chunkEnd(normalized, start, chunkSize);
    const raw = normalized.slice(start, end);
    const leading = raw.length - raw.trimStart().length;
    const content = raw.trim();
    if (content.length > 0) {
      chunks.push({
        index: chunks.length,
        content,
        start: start + leading,
        end: start + leading + content.length,
      });
    }
    if (end >= normalized.length) break;
    start = nextStart(normalized, start, end, chunkOverlap);
  }
  return chunks;
}

function chunkEnd(text: string, start: number, size: number): number {
  const limit = start + size;
  if (limit >= text.length) return text.length;
  const window = text.slice(start, limit + 1);
  // Only boundaries in the second half of the window: an early boundary would make tiny chunks.
  const floor = Math.floor(size / 2);
  const paragraph = window.lastIndexOf('\n\n');
  if (paragraph >= floor) return start + paragraph;
  const sentence = lastMatchEnd(window, /[.!?…。][)"'\]]*(?=\s)/g);
  if (sentence >= floor && sentence <= size) return start + sentence;
  const line = window.lastIndexOf('\n');
  if (line >= floor) return start + line;
  const space = lastMatchStart(window, /\s/g);
  if (space > 0) return start + space;
  return limit;
}

function nextStart(text: string, start: number, end: number, overlap: number): number {
  if (overlap === 0) return skipWhitespace(text, end);
  let next = Math.max(start + 1, end - overlap);
  // Begin at a word start rather than mid-word, without running past the previous end.
  if (next > 0 && !isSpace(text[next - 1]) && !isSpace(text[next])) {
    let i = next;
    while (i < end && !isSpace(text[i])) i++;
    if (i < end) next = i;
  }
  next = skipWhitespace(text, next);
  return next >= end ? skipWhitespace(text, end) : next;
}

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

function lastMatchEnd(text: string, pattern: RegExp): number {
  let last = -1;
  for (const m of text.matchAll(pattern)) last = m.index + m[0].length;
  return last;
}

function lastMatchStart(text: string, pattern: RegExp): number {
  let last = -1;
  for (const m of text.matchAll(pattern)) last = m.index;
  return last;
}

/** About four characters per token: what `rag_chunks.token_count` stores when no tokenizer is at hand. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
