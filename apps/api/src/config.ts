import { configError, infrastructureEnv } from '@flowtrace/engine';
import { z } from 'zod';

const apiEnvSchema = z.object({
  ...infrastructureEnv,
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
  /** Cache API key lookups this long; a revoked key stops working within this time. */
  API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
});

export type ApiConfig = z.infer<typeof apiEnvSchema>;

/** Parses the API's configuration from the environment; throws one error listing every bad variable. */
export function loadApiConfig(env: NodeJS.ProcessEnv): ApiConfig {
  const parsed = apiEnvSchema.safeParse(env);
  if (!parsed.success) throw configError('API', parsed.error);
  return parsed.data;
}
