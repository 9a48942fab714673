import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';

/**
 * The W3C trace context a job carries in its data. Bounded so that a hostile or broken producer cannot
 * bloat jobs: values past the W3C sizes are dropped at extraction and the consumer starts a new trace.
 */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
}

const MAX_TRACEPARENT = 55;
const MAX_TRACESTATE = 512;
const MAX_BAGGAGE = 8192;

/** Writes the context's trace context (and baggage) into a fresh carrier. */
export function injectCarrier(ctx: Context = context.active()): TraceCarrier {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const result: TraceCarrier = {};
  if (carrier.traceparent !== undefined) result.traceparent = carrier.traceparent;
  if (carrier.tracestate !== undefined) result.tracestate = carrier.tracestate;
  if (carrier.baggage !== undefined) result.baggage = carrier.baggage;
  return result;
}

/**
 * A carrier for a span context we know by its ids (a span recorded in Postgres), for when no SDK
 * propagator is registered (telemetry disabled) or the span was never started in this process.
 */
export function carrierFromSpanContext(spanContext: SpanContext): TraceCarrier {
  if (!isSpanContextValid(spanContext)) return {};
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  const carrier: TraceCarrier = { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
  const state = spanContext.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** Parses a `traceparent` into a remote span context; undefined when malformed. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  if (traceparent === undefined || traceparent.length > MAX_TRACEPARENT) return undefined;
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent.trim());
  if (!match || match[1] === 'ff') return undefined;
  const spanContext: SpanContext = {
    traceId: match[2] as string,
    spanId: match[3] as string,
    traceFlags: Number.parseInt(match[4] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
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
  const extracted = propagation.extract(ROOT_CONTEXT, bounded);
  if (isSpanContextValid(trace.getSpanContext(extracted) ?? INVALID_SPAN_CONTEXT)) return extracted;
  // No propagator registered (SDK disabled): keep the ids anyway so rows stay correlated.
  const parsed = parseTraceparent(bounded.traceparent);
  return parsed ? trace.setSpanContext(extracted, parsed) : extracted;
}

/** The span context a carrier points at, if valid. */
export function carrierSpanContext(carrier: TraceCarrier | undefined): SpanContext | undefined {
  const spanContext = trace.getSpanContext(extractCarrier(carrier));
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}
