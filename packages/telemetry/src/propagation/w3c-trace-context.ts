import {
  type Context,
  createContextKey,
  isSpanContextValid,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  isTracingSuppressed,
  parseTraceParent,
  W3CBaggagePropagator,
} from '@opentelemetry/core';
import { W3cTraceState } from './w3c-trace-state.ts';

/**
 * W3C Trace Context (Level 2, https://www.w3.org/TR/trace-context-2/) for every carrier and outgoing
 * request. Sections are cited by their titles in that document.
 *
 * `traceparent` parsing is OpenTelemetry's (`parseTraceParent`: version `ff` and all-zero ids refused,
 * version `00` exact, higher versions with trailing fields accepted, as "Versioning of traceparent" asks);
 * what this module adds:
 * - flags: only `sampled` (01) and `random` (02) are kept; other bits are zeroed ("Other Flags": "Vendors
 *   MUST set those to zero"; OpenTelemetry's propagator keeps them).
 * - `random`: the OpenTelemetry SDK starts every child span with flags `00` or `01`, dropping `random`,
 *   while "Random Trace ID Flag" requires it on every outgoing `traceparent` of a trace that arrived with
 *   it. The flag belongs to the trace id, so it rides in the context (`RANDOM_TRACE_KEY`, holding the trace
 *   id it is set for) and every span started below inherits it; `inject` adds it back.
 * - `tracestate`: `W3cTraceState` (key grammar and whole-header discard; see that module).
 * - OWS: leading and trailing spaces and tabs around `traceparent` are ignored (RFC 9110 section 5.5).
 */

/** trace-flags bits ("trace-flags"). */
export const W3C_SAMPLED = 0x01;
export const W3C_RANDOM = 0x02;
const KNOWN_FLAGS = W3C_SAMPLED | W3C_RANDOM;

export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/**
 * A received `traceparent` longer than this is refused: future versions may add fields ("Versioning of
 * traceparent": "only disallow prohibitively large headers"), but nothing legitimate comes near it.
 */
export const MAX_TRACEPARENT_INPUT = 512;

/** The trace id whose `random` flag is set, for the spans started under this context. */
const RANDOM_TRACE_KEY = createContextKey('flowtrace.w3c.random-trace-id');

/** Parses one `traceparent` value into a remote span context (no `tracestate`); undefined when invalid. */
export function parseW3cTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined || value.length > MAX_TRACEPARENT_INPUT) return undefined;
  const parsed = parseTraceParent(value.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (!parsed) return undefined;
  const spanContext: SpanContext = {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.traceFlags & KNOWN_FLAGS,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/**
 * Parses a received pair of fields. "Tracestate Header": a `tracestate` is only read with a valid
 * `traceparent` ("If the vendor failed to parse `traceparent`, it MUST NOT attempt to parse `tracestate`"),
 * and an invalid `tracestate` never invalidates the `traceparent`.
 */
export function parseW3cTraceContext(
  traceparent: string | readonly string[] | undefined,
  tracestate: string | readonly string[] | undefined,
): SpanContext | undefined {
  // Several traceparent fields cannot be told apart: the caller's context is unknown, the trace restarts.
  const single =
    typeof traceparent === 'string' ? traceparent : traceparent?.length === 1 ? traceparent[0] : undefined;
  const spanContext = parseW3cTraceparent(single);
  if (!spanContext) return undefined;
  const state = W3cTraceState.parse(tracestate);
  return state ? { ...spanContext, traceState: state } : spanContext;
}

/** The trace-flags to send for `spanContext` under `ctx`: its sampled bit, and random when the trace has it. */
export function w3cTraceFlags(ctx: Context, spanContext: SpanContext): number {
  const random =
    (spanContext.traceFlags & W3C_RANDOM) !== 0 || ctx.getValue(RANDOM_TRACE_KEY) === spanContext.traceId;
  return (spanContext.traceFlags & W3C_SAMPLED) | (random ? W3C_RANDOM : 0);
}

/** `ctx` with `spanContext` as its span, and its trace's `random` flag kept for the spans started below. */
export function contextWithSpanContext(ctx: Context, spanContext: SpanContext): Context {
  const withSpan = trace.setSpanContext(ctx, spanContext);
  return (spanContext.traceFlags & W3C_RANDOM) !== 0
    ? withSpan.setValue(RANDOM_TRACE_KEY, spanContext.traceId)
    : withSpan;
}

/** `00-<trace-id>-<parent-id>-<flags>`: written in version 00, the highest this code knows ("Versioning"). */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & KNOWN_FLAGS).toString(16).padStart(2, '0')}`;
}

/**
 * The W3C trace-context propagator the SDK registers and the carrier helpers use directly (so that
 * propagation does not depend on the SDK running). Baggage is handled by OpenTelemetry's own propagator.
 */
export class W3cTraceContextPropagator implements TextMapPropagator {
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(ctx);
    // Suppressed: the SDK's own exports, which must not carry the caller's trace.
    if (!spanContext || !isSpanContextValid(spanContext) || isTracingSuppressed(ctx)) return;
    setter.set(
      carrier,
      TRACEPARENT,
      formatTraceparent(spanContext.traceId, spanContext.spanId, w3cTraceFlags(ctx, spanContext)),
    );
    const state = spanContext.traceState?.serialize();
    if (state) setter.set(carrier, TRACESTATE, state);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const spanContext = parseW3cTraceContext(
      getter.get(carrier, TRACEPARENT),
      getter.get(carrier, TRACESTATE),
    );
    return spanContext ? contextWithSpanContext(ctx, spanContext) : ctx;
  }

  fields(): string[] {
    return [TRACEPARENT, TRACESTATE];
  }
}

/** The process-wide propagator the SDK registers: W3C trace context (ours) and W3C baggage. */
export function createW3cPropagator(): TextMapPropagator {
  return new CompositePropagator({
    propagators: [new W3cTraceContextPropagator(), new W3CBaggagePropagator()],
  });
}
