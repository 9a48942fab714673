import { z } from 'zod';

/** Provider names as workflows reference them (same rule as `llm.provider` in a definition). */
export const providerNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter and use only letters, digits, _ . -');

const simulatedSettingsSchema = z.strictObject({
  /** Base latency of every call, ms: makes demos and benchmarks look like real network calls. */
  latencyMs: z.coerce.number().min(0).max(600_000).optional(),
  /** Random extra latency in [0, jitterMs) ms. */
  jitterMs: z.coerce.number().min(0).max(600_000).optional(),
  /** Length of text answers in tokens (~4 characters each). */
  outputTokens: z.coerce.number().int().min(1).max(100_000).optional(),
});

/** One named provider of the worker configuration. Keys live here, never in workflows. */
export const providerConfigSchema = z
  .strictObject({
    /** Which client speaks to it: OpenAI-compatible Chat Completions, Anthropic Messages, or offline. */
    kind: z.enum(['openai', 'anthropic', 'simulated']),
    /** Base URL of the API (OpenAI-compatible servers: up to and including `/v1`). */
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    apiKey: z.string().min(1).optional(),
    /** Extra headers on every request (Azure's `api-key`, a gateway's routing header, ...). */
    headers: z.record(z.string().min(1), z.string()).optional(),
    /** Most calls in flight at once per worker process. */
    maxConcurrency: z.coerce.number().int().min(1).max(10_000).optional(),
    /** Most calls started per second per worker process. */
    requestsPerSecond: z.coerce.number().positive().max(100_000).optional(),
    /** Per-request timeout, ms (SDK default: 10 minutes). */
    timeoutMs: z.coerce.number().int().min(1).max(3_600_000).optional(),
    /** Most bytes of one reply; reading stops there (default 16 MiB). */
    maxResponseBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024)
      .optional(),
    /** Override `gen_ai.provider.name` (e.g. `vllm` for a self-hosted server); also the pricing key. */
    genAiProviderName: z.string().min(1).max(100).optional(),
    /** Inject `traceparent` from the provider client; leave off where the undici instrumentation runs. */
    propagateTraceContext: z.boolean().optional(),
    /** kind openai: request field for maxTokens (`max_tokens` for servers predating the newer field). */
    maxTokensParam: z.enum(['max_completion_tokens', 'max_tokens']).optional(),
    /** kind anthropic: `max_tokens` when a node sets none (the Messages API requires one). */
    defaultMaxTokens: z.coerce.number().int().min(1).max(1_000_000).optional(),
    /** kind simulated: its behaviour. */
    simulated: simulatedSettingsSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.kind === 'anthropic' && config.apiKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'an anthropic provider needs an apiKey' });
    }
    if (config.kind === 'simulated') {
      for (const key of ['baseUrl', 'apiKey', 'headers'] as const) {
        if (config[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'a simulated provider makes no network calls',
          });
        }
      }
    } else if (config.simulated !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['simulated'],
        message: 'only a simulated provider takes these settings',
      });
    }
    if (config.maxTokensParam !== undefined && config.kind !== 'openai') {
      ctx.addIssue({
        code: 'custom',
        path: ['maxTokensParam'],
        message: 'only an openai provider takes this',
      });
    }
    if (config.defaultMaxTokens !== undefined && config.kind !== 'anthropic') {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultMaxTokens'],
        message: 'only an anthropic provider takes this',
      });
    }
  });

export const providersConfigSchema = z.record(providerNameSchema, providerConfigSchema);

export type ProviderConfig = z.infer<typeof providerConfigSchema>;
export type ProviderConfigInput = z.input<typeof providerConfigSchema>;
export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
export type ProvidersConfigInput = z.input<typeof providersConfigSchema>;

/** Validates provider configuration; the error lists every problem by path and never echoes values. */
export function parseProvidersConfig(input: unknown): ProvidersConfig {
  const result = providersConfigSchema.safeParse(input);
  if (!result.success) {
    throw new Error(`invalid provider configuration:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}
