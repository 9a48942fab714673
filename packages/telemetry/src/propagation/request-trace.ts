import { type Context, context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import type { DeferredSpanEmitter, DeferredSpanStart } from '../tracing/deferred-span.ts';
import type { TraceCarrier } from './carrier.ts';
import {
  contextWithSpanContext,
  parseW3cTraceContext,
  W3C_RANDOM,
  W3C_SAMPLED,
} from './w3c-trace-context.ts';
import { W3cTraceState } from './w3c-trace-state.ts';

/** A deferred span begun for a request's work, and the context its children are started in. */
export interface RequestTrace {
  /** Ids, flags (`sampled` as decided, `random` as the W3C rules want) and `tracestate`. */
  start: DeferredSpanStart;
  context: Context;
}

/**
 * Begins a deferred span (a run's `invoke_workflow`) in the trace of the request being served, whether or
 * not the SDK runs:
 * - SDK on: the active span is the request's server span, which the HTTP instrumentation already made a
 *   child of the caller's `traceparent` (through our propagator);
 * - SDK off: no span is active, so the caller's `traceparent`/`tracestate` (from `caller`, the request's
 *   headers) are parsed here and the span continues the caller's trace id, flags and `tracestate`.
 * Flags: `sampled` is the sampler's decision (with the SDK off, the caller's, unchanged: nothing here
 * records, so the decision passes through); `random` is the caller's when its trace is continued ("Random
 * Trace ID Flag": MUST be kept), and set when the trace id is ours (generated at random).
 */
export function beginRequestTrace(
  emitter: DeferredSpanEmitter,
  caller: TraceCarrier | undefined,
  active: Context = context.active(),
): RequestTrace {
  const callerSpan: SpanContext | undefined = caller
    ? parseW3cTraceContext(caller.traceparent, caller.tracestate)
    : undefined;
  const activeSpan = trace.getSpanContext(active);
  const parent =
    activeSpan && isSpanContextValid(activeSpan)
      ? active
      : callerSpan
        ? contextWithSpanContext(active, callerSpan)
        : active;
  const begun = emitter.begin(parent);
  const continued = callerSpan !== undefined && callerSpan.traceId === begun.traceId;
  // Not continued: the trace id was generated here (no valid caller context), at random.
  const random = continued ? (callerSpan.traceFlags & W3C_RANDOM) !== 0 : true;
  const traceState =
    begun.traceState ?? (continued ? callerSpan?.traceState?.serialize() || undefined : undefined);
  const start: DeferredSpanStart = {
    ...begun,
    traceFlags: (begun.traceFlags & W3C_SAMPLED) | (random ? W3C_RANDOM : 0),
    traceState,
  };
  const parsedState = W3cTraceState.parse(traceState);
  const runContext = contextWithSpanContext(parent, {
    traceId: start.traceId,
    spanId: start.spanId,
    traceFlags: start.traceFlags,
    isRemote: false,
    ...(parsedState ? { traceState: parsedState } : {}),
  });
  return { start, context: runContext };
}
