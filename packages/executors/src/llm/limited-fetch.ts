import { PermanentNodeError } from '@flowtrace/workflow';

/** Default most bytes of one chat reply (a long completion is well under 1 MiB). */
export const DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Raised inside the SDK's body read when a provider's reply passes the limit. */
export class ReplyTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`the reply is larger than ${maxBytes} bytes`);
    this.name = 'ReplyTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/**
 * A `fetch` for the provider SDKs that stops reading a reply at `maxBytes` (after decompression, as
 * `fetch` decodes), instead of letting the SDK buffer and parse whatever the server sends. A declared
 * `content-length` over the limit is refused before reading. Calls the global `fetch` at request time, so
 * that HTTP instrumentation sees the request as it would see the SDK's own.
 */
export function limitedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const response = await globalThis.fetch(input, init);
    const declared = Number(response.headers.get('content-length'));
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    if (!encoded && Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new ReplyTooLargeError(maxBytes);
    }
    if (response.body === null) return response;
    let total = 0;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          total += chunk.byteLength;
          if (total > maxBytes) controller.error(new ReplyTooLargeError(maxBytes));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The node error for an oversized reply, when `error` (or one of its causes) is one; else null. */
export function replyTooLarge(provider: string, error: unknown): PermanentNodeError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof ReplyTooLargeError) {
      return new PermanentNodeError(
        'provider_error',
        `provider "${provider}" sent a reply larger than ${current.maxBytes} bytes; reading stopped there (raise the provider's maxResponseBytes if such replies are expected)`,
        { details: { provider, maxResponseBytes: current.maxBytes } },
      );
    }
    current = current.cause;
  }
  return null;
}
