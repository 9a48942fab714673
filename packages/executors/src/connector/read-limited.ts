import type { Readable } from 'node:stream';
import { PermanentNodeError } from '@flowtrace/workflow';
import { redactUrl } from './connector-url.ts';

/**
 * Reads a (decoded) response body into memory, failing as soon as it passes `maxBytes`: a declared
 * `content-length` over the limit fails before reading, otherwise bytes are counted as they stream in
 * and the connection is dropped at the limit.
 */
export async function readLimited(
  body: Readable,
  headers: Record<string, string | string[] | undefined>,
  maxBytes: number,
  url: URL,
): Promise<Buffer> {
  const tooLarge = (): PermanentNodeError =>
    new PermanentNodeError(
      'connector_error',
      `response from ${redactUrl(url)} exceeds the ${maxBytes}-byte limit (the node's maxResponseBytes, at most the worker's FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES); the rest was not read`,
      {
        details: { maxResponseBytes: maxBytes },
      },
    );
  // The decompress interceptor drops `content-length` from a body it decodes: one that is left is the
  // length of the bytes read here.
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(buf);
    }
  } catch (error) {
    body.destroy();
    throw error;
  }
  return Buffer.concat(chunks, total);
}
