import { DEFAULT_MAX_RESPONSE_BYTES } from './guarded-http-client.ts';

/** The largest response body a worker can be configured to read: the node setting's own maximum. */
export const MAX_RESPONSE_BYTES_CEILING = 50 * 1024 * 1024;

export interface ConnectorLimits {
  /** Per-worker ceiling (and default) of a response body, in bytes, after decompression. */
  maxResponseBytes: number;
}

/**
 * Reads `FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES`: the most a connector or HTTP tool response body may
 * hold on this worker (default 5 MiB, at most 50 MiB). A node's `maxResponseBytes` can only lower it.
 * Bodies are buffered, decoded and parsed in memory, so this times the worker's connector concurrency
 * bounds what connector responses can hold of its heap.
 */
export function parseConnectorLimitsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ConnectorLimits {
  const raw = env.FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES?.trim();
  if (raw === undefined || raw === '') return { maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES };
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1 || value > MAX_RESPONSE_BYTES_CEILING) {
    throw new Error(
      `FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES must be a whole number of bytes from 1 to ${MAX_RESPONSE_BYTES_CEILING}, got "${raw}"`,
    );
  }
  return { maxResponseBytes: value };
}
