import { context, propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  carrierFromHeaders,
  carrierFromSpanContext,
  carrierSpanContext,
  extractCarrier,
  injectCarrier,
} from './carrier.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${SPAN}-03`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

describe('extractCarrier', () => {
  it('reads the trace context and baggage of a job into a remote parent', () => {
    const ctx = extractCarrier({ traceparent: TRACEPARENT, tracestate: TRACESTATE, baggage: 'tenant=acme' });
    const spanContext = trace.getSpanContext(ctx);
    expect(spanContext).toMatchObject({ traceId: TRACE, spanId: SPAN, isRemote: true });
    expect(spanContext?.traceFlags).toBe(TraceFlags.SAMPLED | 2);
    expect(spanContext?.traceState?.serialize()).toBe(TRACESTATE);
    expect(propagation.getBaggage(ctx)?.getEntry('tenant')?.value).toBe('acme');
  });

  it('starts from ROOT_CONTEXT, never from the consumer context it is called in', () => {
    const ambient = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
    });
    context.with(ambient, () => {
      expect(extractCarrier(undefined)).toBe(ROOT_CONTEXT);
      expect(trace.getSpanContext(extractCarrier({}))).toBeUndefined();
      expect(trace.getSpanContext(extractCarrier({ traceparent: TRACEPARENT }))?.traceId).toBe(TRACE);
    });
  });

  it('ignores oversized values, so that a hostile producer cannot bloat or steer the consumer', () => {
    const big = extractCarrier({
      traceparent: `${TRACEPARENT}-${'x'.repeat(600)}`,
      tracestate: `k=${'v'.repeat(2_000)}`,
      baggage: `a=${'b'.repeat(9_000)}`,
    });
    expect(trace.getSpanContext(big)).toBeUndefined();
    expect(propagation.getBaggage(big)).toBeUndefined();
    // An oversized tracestate alone is dropped; the traceparent still holds.
    const ctx = extractCarrier({ traceparent: TRACEPARENT, tracestate: `k=${'v'.repeat(2_000)}` });
    expect(trace.getSpanContext(ctx)?.traceId).toBe(TRACE);
    expect(trace.getSpanContext(ctx)?.traceState).toBeUndefined();
  });

  it('starts a new trace on a malformed traceparent', () => {
    for (const traceparent of ['garbage', `00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${SPAN}`])
      expect(carrierSpanContext({ traceparent }), traceparent).toBeUndefined();
  });
});

describe('injectCarrier', () => {
  it('round-trips through extractCarrier, flags, tracestate and baggage included', () => {
    const carrier = { traceparent: TRACEPARENT, tracestate: TRACESTATE, baggage: 'tenant=acme' };
    expect(injectCarrier(extractCarrier(carrier))).toEqual(carrier);
  });

  it('writes an empty carrier for a context without a span, with no undefined fields', () => {
    const carrier = injectCarrier(ROOT_CONTEXT);
    expect(carrier).toEqual({});
    expect(Object.keys(carrier)).toEqual([]);
  });
});

describe('carrierFromSpanContext', () => {
  it('writes the ids, the sampled and random flags and the tracestate of a stored span', () => {
    const spanContext = trace.getSpanContext(
      extractCarrier({ traceparent: TRACEPARENT, tracestate: TRACESTATE }),
    );
    expect(spanContext).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(carrierFromSpanContext(spanContext as never)).toEqual({
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
    });
    expect(carrierFromSpanContext({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.NONE })).toEqual({
      traceparent: `00-${TRACE}-${SPAN}-00`,
    });
  });

  it('writes nothing for an invalid span context', () => {
    expect(carrierFromSpanContext({ traceId: '0'.repeat(32), spanId: SPAN, traceFlags: 1 })).toEqual({});
  });
});

describe('carrierFromHeaders', () => {
  it('takes the trace-context fields of received headers', () => {
    expect(
      carrierFromHeaders({ traceparent: TRACEPARENT, tracestate: TRACESTATE, baggage: 'x=y', host: 'api' }),
    ).toEqual({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
    expect(carrierFromHeaders({ host: 'api' })).toEqual({});
  });

  it('combines repeated tracestate fields, and keeps repeated traceparent fields joined so none is trusted', () => {
    const carrier = carrierFromHeaders({
      traceparent: [TRACEPARENT, `00-${'1'.repeat(32)}-${SPAN}-01`],
      tracestate: ['congo=t61rcWkgMzE', 'rojo=00f067aa0ba902b7'],
    });
    expect(carrier.tracestate).toBe(TRACESTATE);
    expect(carrier.traceparent).toBe(`${TRACEPARENT}, 00-${'1'.repeat(32)}-${SPAN}-01`);
    expect(carrierSpanContext(carrier)).toBeUndefined();
  });
});
