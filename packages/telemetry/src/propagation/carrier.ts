import {
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ROOT_CONTEXT,
  type SpanContext,
  trace,
} from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { formatTraceparent, W3cTraceContextPropagator } from './w3c-trace-context.ts';

/**
 * The W3C trace context a job carries in its data. Bounded so that a hostile or broken producer cannot
 * bloat jobs: values past these sizes are dropped at extraction, and the consumer starts a new trace.
 */
export interface TraceCarrier {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
  baggage?: string | undefined;
}

const MAX_TRACEPARENT = 512;
const MAX_TRACESTATE = 1024;
const MAX_BAGGAGE = 8192;

// Used directly rather than through the global propagator, which is a no-op when the SDK is off:
// propagation must not depend on telemetry being exported.
const traceContext = new W3cTraceContextPropagator();
const baggage = new W3CBaggagePropagator();

/** Writes the context's trace context (and baggage) into a fresh carrier, whether or not the SDK runs. */
export function injectCarrier(ctx: Context = context.active()): TraceCarrier {
  const carrier: Record<string, string> = {};
  traceContext.inject(ctx, carrier, defaultTextMapSetter);
  baggage.inject(ctx, carrier, defaultTextMapSetter);
  const result: TraceCarrier = {};
  if (carrier.traceparent !== undefined) result.traceparent = carrier.traceparent;
  if (carrier.tracestate !== undefined) result.tracestate = carrier.tracestate;
  if (carrier.baggage !== undefined) result.baggage = carrier.baggage;
  return result;
}

/**
 * A carrier for a span context we know by its ids (a span recorded in Postgres), keeping its `sampled` and
 * `random` flags and its `tracestate`.
 */
export function carrierFromSpanContext(spanContext: SpanContext): TraceCarrier {
  if (!isSpanContextValid(spanContext)) return {};
  const carrier: TraceCarrier = {
    traceparent: formatTraceparent(spanContext.traceId, spanContext.spanId, spanContext.traceFlags),
  };
  const state = spanContext.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/**
 * The context a consumer runs in: extracted from the carrier on top of ROOT_CONTEXT (never the
 * consumer's ambient context). Oversized or malformed values are ignored rather than trusted.
 */
export function extractCarrier(carrier: TraceCarrier | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  const bounded: Record<string, string> = {};
  if (carrier.traceparent && carrier.traceparent.length <= MAX_TRACEPARENT)
    bounded.traceparent = carrier.traceparent;
  if (carrier.tracestate && carrier.tracestate.length <= MAX_TRACESTATE)
    bounded.tracestate = carrier.tracestate;
  if (carrier.baggage && carrier.baggage.length <= MAX_BAGGAGE) bounded.baggage = carrier.baggage;
  const withBaggage = baggage.extract(ROOT_CONTEXT, bounded, defaultTextMapGetter);
  return traceContext.extract(withBaggage, bounded, defaultTextMapGetter);
}

/** The span context a carrier points at, if valid. */
export function carrierSpanContext(carrier: TraceCarrier | undefined): SpanContext | undefined {
  const spanContext = trace.getSpanContext(extractCarrier(carrier)) ?? INVALID_SPAN_CONTEXT;
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * The trace-context fields of received HTTP headers (Node's lower-cased `IncomingHttpHeaders`). Repeated
 * `tracestate` fields are combined with commas; repeated `traceparent` fields are kept joined, which no
 * parser accepts, so the caller's context is then ignored.
 */
export function carrierFromHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): TraceCarrier {
  const field = (name: string, separator: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value : value?.join(separator);
  };
  const carrier: TraceCarrier = {};
  const traceparent = field('traceparent', ', ');
  const tracestate = field('tracestate', ',');
  if (traceparent !== undefined) carrier.traceparent = traceparent;
  if (tracestate !== undefined) carrier.tracestate = tracestate;
  return carrier;
}
