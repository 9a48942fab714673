import { type Context, context, defaultTextMapSetter, isSpanContextValid, trace } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { newSpanId } from '../tracing/ids.ts';
import { contextWithSpanContext, W3cTraceContextPropagator } from './w3c-trace-context.ts';

const traceContext = new W3cTraceContextPropagator();
const baggage = new W3CBaggagePropagator();

/**
 * `traceparent`, `tracestate` and `baggage` for an outgoing request that no HTTP instrumentation sees
 * (the SDK is off, or a client the instrumentation does not cover). When the active span records, the
 * request's parent is that span; otherwise (SDK off, or the trace sampled out) the request gets a parent-id
 * of its own that no span records, as the W3C processing model asks for each outgoing request ("Update
 * `parent-id`"), with the trace id, flags and `tracestate` unchanged.
 */
export function traceContextHeaders(ctx: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  const span = trace.getSpan(ctx);
  const spanContext = span?.spanContext();
  let outgoing = ctx;
  if (spanContext && isSpanContextValid(spanContext) && !span?.isRecording()) {
    outgoing = contextWithSpanContext(ctx, { ...spanContext, spanId: newSpanId(), isRemote: false });
  }
  traceContext.inject(outgoing, headers, defaultTextMapSetter);
  baggage.inject(outgoing, headers, defaultTextMapSetter);
  return headers;
}
