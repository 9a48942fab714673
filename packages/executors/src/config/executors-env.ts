import { z } from 'zod';
import {
  type ConnectorLimits,
  DEFAULT_MAX_RESPONSE_BYTES,
  MAX_RESPONSE_BYTES_CEILING,
} from '../connector/connector-limits.ts';
import { CredentialStore, type CredentialsConfig } from '../connector/credentials.ts';
import { parseCidr, type SsrfPolicyOptions } from '../connector/ssrf-policy.ts';
import { type ContentCaptureOptions, DEFAULT_CAPTURE_MAX_LENGTH } from '../llm/content-capture.ts';
import { type PricingOverrides, pricingOverridesSchema } from '../llm/pricing.ts';
import { type ProvidersConfig, providersConfigSchema } from '../llm/provider-config.ts';
import type { EmbeddingsConfig } from '../rag/embedders-config.ts';
import { compileRedactPattern } from '../redaction/redactor.ts';
import {
  commaList,
  isJsonObject,
  jsonValue,
  optionalChoice,
  optionalHttpUrl,
  optionalText,
  optionalWholeNumber,
} from './env-values.ts';

/**
 * The executors' environment as zod shapes that the apps spread into their own schemas (each app's
 * `config.ts`), so that every variable is parsed in `main` with the others, a bad value stops the process
 * naming the variable, and the keys the deployment files and docs are checked against are the schema's.
 * The `…FromEnv` functions turn the parsed values into the executors' typed options. This module is the
 * package's `./config` export: it loads no client library, so a config.ts can import it before telemetry
 * starts.
 */

/** OpenAI's conventional variables: provider `openai`, and the endpoint of the `openai` embedder. */
const openAiEnv = {
  /** Registers provider `openai`; the embedder's key too when FLOWTRACE_EMBEDDINGS_API_KEY is unset. */
  OPENAI_API_KEY: optionalText,
  /** An OpenAI-compatible API (up to and including `/v1`); alone, it registers a keyless `openai`. */
  OPENAI_BASE_URL: optionalHttpUrl,
};

const providersEnv = {
  /** Named providers, JSON: `{"local": {"kind": "openai", "baseUrl": …}}`; these win over the variables below. */
  FLOWTRACE_PROVIDERS: jsonValue(providersConfigSchema, {
    what: 'a JSON object of named providers',
    shape: isJsonObject,
  }),
  ...openAiEnv,
  /** Registers provider `anthropic`. */
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: optionalHttpUrl,
};

/**
 * The versioned form of `pricingOverridesSchema`, a bare array read as its `prices`: checked by one schema,
 * a bad price is reported by its path (`FLOWTRACE_PRICING.0.input`) rather than as a union that failed.
 */
const pricingOverrides = z.preprocess(
  (value) => (Array.isArray(value) ? { prices: value } : value),
  pricingOverridesSchema.options[1],
);

const pricingEnv = {
  /** Price overrides, USD per million tokens: a JSON array of prices, or `{ "version", "prices" }`. */
  FLOWTRACE_PRICING: jsonValue(pricingOverrides, {
    what: 'a JSON array of prices, or {"version", "prices"}',
    shape: (value) => Array.isArray(value) || isJsonObject(value),
  }),
};

const CAPTURE_ON = new Set(['true', '1', 'yes', 'span_only', 'span_and_event']);

const contentCaptureEnv = {
  /**
   * Prompts and completions on spans: `true`/`1` (or `span_only`, `span_and_event`, the values some GenAI
   * instrumentations use); anything else leaves it off. Text is often PII.
   */
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: z
    .string()
    .optional()
    .transform((flag) => CAPTURE_ON.has(flag?.trim().toLowerCase() ?? '')),
  /** Most characters per captured content attribute. */
  FLOWTRACE_CAPTURE_MAX_LENGTH: optionalWholeNumber(1),
  /**
   * RegExp sources, a JSON array or a comma-separated list, redacted from captured content and from
   * every stored output, error and agent step. An invalid one stops the process: a typo must not
   * silently turn redaction off.
   */
  FLOWTRACE_REDACT_PATTERNS: z
    .string()
    .optional()
    .transform((raw, ctx): string[] => {
      const text = raw?.trim() ?? '';
      let patterns: string[];
      if (text.startsWith('[')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: 'starts with "[" but is not a valid JSON array of strings',
          });
          return z.NEVER;
        }
        if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON array of strings' });
          return z.NEVER;
        }
        patterns = parsed;
      } else {
        patterns = text.split(',').map((p) => p.trim());
      }
      patterns = patterns.filter((p) => p.length > 0);
      for (const pattern of patterns) {
        try {
          compileRedactPattern(pattern);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }
      return patterns;
    }),
};

const connectorEnv = {
  /** Host names (`*.svc` for subdomains) connectors may reach although they resolve to private addresses. */
  FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: commaList,
  /** IP ranges (`10.0.0.0/8`, `fd00::/8`, a bare address) exempt from the SSRF guard. */
  FLOWTRACE_CONNECTOR_ALLOWED_CIDRS: commaList.superRefine((cidrs, ctx) => {
    for (const cidr of cidrs) {
      try {
        parseCidr(cidr);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }
  }),
  /**
   * Most bytes of a connector or HTTP tool response body (after decompression) on this worker; a node's
   * `maxResponseBytes` can only lower it. Bodies are held in memory: this times the connector
   * concurrency bounds what responses hold of the heap.
   */
  FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: optionalWholeNumber(1, MAX_RESPONSE_BYTES_CEILING, ' of bytes'),
  /**
   * Secrets added to connector and HTTP tool requests, JSON:
   * `{ "<name>": { "headers": {…}, "hosts": ["api.example.com"], "tenants": ["<tenant id>"] } }`.
   */
  FLOWTRACE_CREDENTIALS: jsonValue(z.unknown(), {
    what: '{"<name>": {"headers": {...}, "hosts": [...]}}',
    shape: isJsonObject,
  }).transform((value, ctx) => {
    try {
      // The store validates the shape, naming the credential and field; never the values.
      return new CredentialStore((value ?? {}) as CredentialsConfig);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
};

const embeddingsEnv = {
  ...openAiEnv,
  /** The embedder of new collections: `offline` (default: local, deterministic) or `openai` (any compatible API). */
  FLOWTRACE_EMBEDDINGS_PROVIDER: optionalChoice(['offline', 'openai']),
  /** Model of the `openai` embedder (default `text-embedding-3-small`). */
  FLOWTRACE_EMBEDDINGS_MODEL: optionalText,
  /** Vector size (default 256 offline, 1536 openai). */
  FLOWTRACE_EMBEDDINGS_DIMENSIONS: optionalWholeNumber(8, 2_000),
  /** Endpoint and key of the `openai` embedder; OPENAI_BASE_URL and OPENAI_API_KEY when unset. */
  FLOWTRACE_EMBEDDINGS_BASE_URL: optionalHttpUrl,
  FLOWTRACE_EMBEDDINGS_API_KEY: optionalText,
  /** Texts per embeddings request of the `openai` embedder (default 64). */
  FLOWTRACE_EMBEDDINGS_BATCH_SIZE: optionalWholeNumber(1, 2_048),
};

/** Every variable the executors read: the worker spreads it into its schema. */
export const executorsEnv = {
  ...providersEnv,
  ...pricingEnv,
  ...contentCaptureEnv,
  ...connectorEnv,
  ...embeddingsEnv,
};

/** What the API reads for RAG ingestion: the embedder of new collections and the prices of its calls. */
export const ingestionEnv = { ...pricingEnv, ...embeddingsEnv };

export type ExecutorsEnv = z.output<z.ZodObject<typeof executorsEnv>>;
export type IngestionEnv = z.output<z.ZodObject<typeof ingestionEnv>>;
export type ExecutorsEnvKey = keyof typeof executorsEnv;
export type IngestionEnvKey = keyof typeof ingestionEnv;

export const EXECUTORS_ENV_KEYS = Object.keys(executorsEnv) as readonly ExecutorsEnvKey[];
export const INGESTION_ENV_KEYS = Object.keys(ingestionEnv) as readonly IngestionEnvKey[];

/** Everything the executors read from configuration, parsed once in `main`. */
export interface ExecutorsConfig {
  providers: ProvidersConfig;
  pricing: PricingOverrides | undefined;
  capture: ContentCaptureOptions;
  ssrf: SsrfPolicyOptions;
  connector: ConnectorLimits;
  credentials: CredentialStore;
  embeddings: EmbeddingsConfig;
}

/** The API's ingestion settings. */
export interface IngestionConfig {
  pricing: PricingOverrides | undefined;
  embeddings: EmbeddingsConfig;
}

/** The executors' options from their parsed variables. */
export function executorsConfigFromEnv(env: ExecutorsEnv): ExecutorsConfig {
  return {
    providers: providersFromEnv(env),
    pricing: env.FLOWTRACE_PRICING,
    capture: {
      enabled: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
      maxLength: env.FLOWTRACE_CAPTURE_MAX_LENGTH ?? DEFAULT_CAPTURE_MAX_LENGTH,
      redact: env.FLOWTRACE_REDACT_PATTERNS,
    },
    ssrf: {
      allowedHosts: env.FLOWTRACE_CONNECTOR_ALLOWED_HOSTS,
      allowedCidrs: env.FLOWTRACE_CONNECTOR_ALLOWED_CIDRS,
    },
    connector: { maxResponseBytes: env.FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES ?? DEFAULT_MAX_RESPONSE_BYTES },
    credentials: env.FLOWTRACE_CREDENTIALS,
    embeddings: embeddingsFromEnv(env),
  };
}

/** The API's ingestion options from their parsed variables. */
export function ingestionConfigFromEnv(env: IngestionEnv): IngestionConfig {
  return { pricing: env.FLOWTRACE_PRICING, embeddings: embeddingsFromEnv(env) };
}

/**
 * Parses the executors' variables alone and returns their options; throws one error listing every bad
 * variable. For tests and tools: the apps parse these variables with their own (`config.ts`).
 */
export function loadExecutorsConfig(env: Readonly<Record<string, string | undefined>>): ExecutorsConfig {
  const parsed = z.object(executorsEnv).safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid executors configuration:\n${lines.join('\n')}`);
  }
  return executorsConfigFromEnv(parsed.data);
}

/**
 * `FLOWTRACE_PROVIDERS`, plus `openai` from OPENAI_API_KEY / OPENAI_BASE_URL and `anthropic` from
 * ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL) unless it names them; `simulated` (offline) always, unless
 * it defines that name.
 */
function providersFromEnv(env: z.output<z.ZodObject<typeof providersEnv>>): ProvidersConfig {
  const providers: ProvidersConfig = { ...env.FLOWTRACE_PROVIDERS };
  if (!Object.hasOwn(providers, 'openai') && (env.OPENAI_API_KEY || env.OPENAI_BASE_URL)) {
    providers.openai = {
      kind: 'openai',
      ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
      ...(env.OPENAI_BASE_URL ? { baseUrl: env.OPENAI_BASE_URL } : {}),
    };
  }
  if (!Object.hasOwn(providers, 'anthropic') && env.ANTHROPIC_API_KEY) {
    providers.anthropic = {
      kind: 'anthropic',
      apiKey: env.ANTHROPIC_API_KEY,
      ...(env.ANTHROPIC_BASE_URL ? { baseUrl: env.ANTHROPIC_BASE_URL } : {}),
    };
  }
  if (!Object.hasOwn(providers, 'simulated')) providers.simulated = { kind: 'simulated' };
  return providers;
}

function embeddingsFromEnv(env: z.output<z.ZodObject<typeof embeddingsEnv>>): EmbeddingsConfig {
  if (env.FLOWTRACE_EMBEDDINGS_PROVIDER !== 'openai') {
    return { provider: 'offline', dimensions: env.FLOWTRACE_EMBEDDINGS_DIMENSIONS ?? 256 };
  }
  const baseUrl = env.FLOWTRACE_EMBEDDINGS_BASE_URL ?? env.OPENAI_BASE_URL;
  const apiKey = env.FLOWTRACE_EMBEDDINGS_API_KEY ?? env.OPENAI_API_KEY;
  return {
    provider: 'openai',
    model: env.FLOWTRACE_EMBEDDINGS_MODEL ?? 'text-embedding-3-small',
    dimensions: env.FLOWTRACE_EMBEDDINGS_DIMENSIONS ?? 1536,
    batchSize: env.FLOWTRACE_EMBEDDINGS_BATCH_SIZE ?? 64,
    baseUrl,
    apiKey,
  };
}
