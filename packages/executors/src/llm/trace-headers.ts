import { context, propagation } from '@opentelemetry/api';

/**
 * W3C trace-context headers for the active context, for providers configured to propagate it themselves.
 * Off by default: in the worker, the undici instrumentation opens an HTTP CLIENT span under the chat span
 * and injects `traceparent` for it; injecting here as well would send the header twice.
 */
export function traceContextHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}
