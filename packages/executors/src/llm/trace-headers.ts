import { traceContextHeaders as w3cTraceContextHeaders } from '@flowtrace/telemetry';

/**
 * W3C trace-context headers (`traceparent`, `tracestate`, `baggage`) for the active context, for providers
 * configured to propagate it themselves (always the case when the SDK is off). Off by default where the
 * SDK runs: the undici instrumentation opens an HTTP CLIENT span under the chat span and injects the
 * headers for it; injecting here as well would send them twice.
 */
export function traceContextHeaders(): Record<string, string> {
  return w3cTraceContextHeaders();
}
