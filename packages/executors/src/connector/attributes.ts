/**
 * Span attributes and events the connector records, under the project's `flowtrace.` namespace.
 * (Kept here until the package's shared `semconv.ts` takes them over.)
 */
export const CONNECTOR_ATTRIBUTES = {
  /** Human-readable reason a destination was refused: host, address and the rule that matched. */
  blockedReason: 'flowtrace.connector.blocked_reason',
  blockedRule: 'flowtrace.connector.blocked_rule',
  blockedHost: 'flowtrace.connector.blocked_host',
  blockedAddress: 'flowtrace.connector.blocked_address',
  /** Name of the configured credential used (never its values). */
  credential: 'flowtrace.connector.credential',
  /** Redirects followed before the final response. */
  redirects: 'flowtrace.connector.redirects',
  responseBytes: 'flowtrace.connector.response_bytes',
} as const;

export const CONNECTOR_EVENTS = {
  blocked: 'connector.blocked',
} as const;
