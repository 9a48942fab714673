/** What a worker reads of a response body by default. */
export const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

/** The largest response body a worker can be configured to read: the node setting's own maximum. */
export const MAX_RESPONSE_BYTES_CEILING = 50 * 1024 * 1024;

/** A worker's connector limits (`FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES`, see `config/executors-env.ts`). */
export interface ConnectorLimits {
  /**
   * Per-worker ceiling (and default) of a response body, in bytes, after decompression; a node's
   * `maxResponseBytes` can only lower it.
   */
  maxResponseBytes: number;
}
