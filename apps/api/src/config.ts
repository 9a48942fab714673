import { configError, envBoolean, infrastructureEnv } from '@flowtrace/engine/config';
import {
  INGESTION_ENV_KEYS,
  type IngestionConfig,
  type IngestionEnvKey,
  ingestionConfigFromEnv,
  ingestionEnv,
} from '@flowtrace/executors/config';
import { z } from 'zod';

const apiEnvSchema = z.object({
  ...infrastructureEnv,
  /** RAG ingestion: the embedder of new collections and the prices of its calls (docs/configuration.md). */
  ...ingestionEnv,
  /** Interface and port the HTTP API listens on. */
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  /** Base URL of the SigNoz UI; run responses link to `<url>/trace/<traceId>`. */
  SIGNOZ_URL: z.url().default('http://localhost:8080'),
  /** Largest request body accepted, in bytes (definitions and inputs have their own, smaller limits). */
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .default(1024 * 1024),
  /**
   * Largest request head (request line and headers) in bytes; a larger one is answered 431
   * `headers_too_large`. Node's default is 16 KiB; raise it only if a proxy in front adds large headers.
   */
  MAX_HEADER_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(1024 * 1024)
    .default(16 * 1024),
  /** Cache API key lookups this long; a revoked key stops working within this time. */
  API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  /** Idle event streams (`/v1/runs/:id/events/stream`) get a `: ping` comment this often. */
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(1_000).default(15_000),
  /** Event streams one tenant may hold open on one API process (each holds a connection and memory). */
  SSE_MAX_STREAMS_PER_TENANT: z.coerce.number().int().min(1).default(1_000),
  /**
   * How often the runs followed by this process's event streams are checked (one query for all) for events
   * whose Redis wake-up was lost, e.g. a worker that died between commit and publish.
   */
  EVENT_STREAM_SWEEP_MS: z.coerce.number().int().min(500).default(5_000),
  /** Run the reconciler in this process (one process leads at a time, so every API replica may). */
  RECONCILER_ENABLED: envBoolean.default(true),
  RECONCILER_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  /** A queued node whose job is missing from Redis is re-enqueued after this long. */
  RECONCILER_QUEUED_GRACE_MS: z.coerce.number().int().min(0).default(15_000),
  /**
   * A running node whose worker has not renewed its heartbeat for this long is re-driven. Keep it well
   * above the workers' NODE_HEARTBEAT_MS.
   */
  RECONCILER_HEARTBEAT_STALE_MS: z.coerce.number().int().min(1_000).default(45_000),
  /**
   * Re-drives of one node (lost job, lost worker) before the reconciler fails it with
   * `redrive_limit_exceeded`, so that no node is executed, and its external calls repeated, without bound.
   */
  RECONCILER_MAX_REDRIVES: z.coerce.number().int().min(0).max(100).default(3),
});

export type ApiConfig = Omit<z.infer<typeof apiEnvSchema>, IngestionEnvKey> & {
  /** Ingestion's options, from their variables (which the rest of the config leaves out). */
  ingestion: IngestionConfig;
};

/** Every variable the API's schema reads; deployment files are checked against it. */
export const API_ENV_KEYS: readonly string[] = Object.keys(apiEnvSchema.shape);

/** Parses the API's configuration from the environment; throws one error listing every bad variable. */
export function loadApiConfig(env: NodeJS.ProcessEnv): ApiConfig {
  const parsed = apiEnvSchema.safeParse(env);
  if (!parsed.success) throw configError('API', parsed.error);
  const c = parsed.data;
  const own = Object.fromEntries(
    Object.entries(c).filter(([key]) => !(INGESTION_ENV_KEYS as readonly string[]).includes(key)),
  ) as Omit<typeof c, IngestionEnvKey>;
  return { ...own, ingestion: ingestionConfigFromEnv(c) };
}
