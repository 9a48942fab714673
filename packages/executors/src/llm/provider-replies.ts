import { formatIssues, TransientNodeError } from '@flowtrace/workflow';
import { z } from 'zod';

/**
 * The fields of providers' 200 replies that the executors read, as zod schemas. The SDKs type their
 * results but do not check them: a gateway, a proxy or an OpenAI-compatible server that answers 200
 * with another shape would otherwise surface as a `TypeError` deep in the mapping code. A reply that
 * does not match is a `provider_error` naming the field; unknown fields are ignored.
 */

const tokens = z.number().int().nonnegative();
const optionalTokens = tokens.nullable().optional();

const openAiToolCall = z
  .object({
    id: z.string(),
    type: z.string().optional(),
    function: z
      .object({
        name: z.string(),
        // The API sends a JSON string; some compatible servers send the object itself.
        arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
      })
      .optional(),
    custom: z.object({ name: z.string(), input: z.string() }).optional(),
  })
  .refine((call) => call.function !== undefined || call.custom !== undefined, {
    message: 'has neither "function" nor "custom"',
  });

/** OpenAI Chat Completions (`POST /chat/completions`), non-streaming. */
export const openAiChatCompletionSchema = z.object({
  id: z.string(),
  model: z.string(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          tool_calls: z.array(openAiToolCall).nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1, 'has no choices'),
  usage: z
    .object({
      prompt_tokens: optionalTokens,
      completion_tokens: optionalTokens,
      prompt_tokens_details: z
        .object({ cached_tokens: optionalTokens, cache_write_tokens: optionalTokens })
        .nullable()
        .optional(),
      completion_tokens_details: z.object({ reasoning_tokens: optionalTokens }).nullable().optional(),
    })
    .nullable()
    .optional(),
});
export type OpenAiChatCompletionReply = z.infer<typeof openAiChatCompletionSchema>;

const anthropicBlock = z.union([
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
  // Thinking, server tools, ...: not read, but still a block with a type.
  z.object({ type: z.string().refine((t) => t !== 'text' && t !== 'tool_use') }),
]);

/** Anthropic Messages (`POST /v1/messages`), non-streaming. */
export const anthropicMessageSchema = z.object({
  id: z.string(),
  model: z.string(),
  content: z.array(anthropicBlock),
  stop_reason: z.string().nullable().optional(),
  usage: z.object({
    input_tokens: tokens,
    output_tokens: tokens,
    cache_read_input_tokens: optionalTokens,
    cache_creation_input_tokens: optionalTokens,
    output_tokens_details: z.object({ thinking_tokens: optionalTokens }).nullable().optional(),
  }),
});
export type AnthropicMessageReply = z.infer<typeof anthropicMessageSchema>;

/** OpenAI Embeddings (`POST /embeddings`) with `encoding_format: float`. */
export const openAiEmbeddingsSchema = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number().finite()) })),
  model: z.string().optional(),
  usage: z.object({ prompt_tokens: optionalTokens }).nullable().optional(),
});
export type OpenAiEmbeddingsReply = z.infer<typeof openAiEmbeddingsSchema>;

/**
 * Parses a provider's reply; throws a transient `provider_error` naming the first wrong fields
 * (a malformed answer is what a 502 from a gateway means: another try may get a good one).
 */
export function parseProviderReply<S extends z.ZodType>(
  schema: S,
  reply: unknown,
  where: { provider: string; what: string },
): z.infer<S> {
  const parsed = schema.safeParse(reply);
  if (parsed.success) return parsed.data;
  const field = issuePath(parsed.error.issues[0]?.path ?? []);
  throw new TransientNodeError(
    'provider_error',
    `provider "${where.provider}" returned a malformed ${where.what}: ${formatIssues(parsed.error)}`,
    { details: { provider: where.provider, reason: 'malformed_reply', field } },
  );
}

/** The error for a 200 whose body is not JSON at all (the SDKs raise a `SyntaxError`). */
export function unparseableReply(provider: string, what: string, error: SyntaxError): TransientNodeError {
  return new TransientNodeError(
    'provider_error',
    `provider "${provider}" returned a ${what} that is not valid JSON (${error.message.slice(0, 120)})`,
    { details: { provider, reason: 'malformed_reply' }, cause: error },
  );
}

/** `choices[0].message.content`, as `formatIssues` writes paths; `(reply)` for the whole body. */
function issuePath(path: readonly PropertyKey[]): string {
  const text = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return text === '' ? '(reply)' : text.replace(/^\./, '');
}
