import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import {
  contextWithSpanContext,
  parseW3cTraceparent,
  W3C_RANDOM,
  W3cTraceContextPropagator,
} from './w3c-trace-context.ts';

const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const propagator = new W3cTraceContextPropagator();

function roundTrip(headers: Record<string, string | string[]>) {
  const ctx = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const out: Record<string, string> = {};
  propagator.inject(ctx, out, defaultTextMapSetter);
  return out;
}

describe('parseW3cTraceparent', () => {
  it('accepts version 00 and future versions, ignoring surrounding OWS', () => {
    expect(parseW3cTraceparent(`00-${TRACE}-${PARENT}-01`)?.traceId).toBe(TRACE);
    expect(parseW3cTraceparent(` \t00-${TRACE}-${PARENT}-01 \t`)?.traceId).toBe(TRACE);
    expect(parseW3cTraceparent(`cc-${TRACE}-${PARENT}-01`)?.traceId).toBe(TRACE);
    expect(parseW3cTraceparent(`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`)?.traceId).toBe(TRACE);
  });

  it('refuses malformed values', () => {
    for (const value of [
      `00-${TRACE}-${PARENT}-01.`,
      `00-${TRACE}-${PARENT}-01-what-the-future-will-be-like`,
      `cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`,
      `ff-${TRACE}-${PARENT}-01`,
      `.0-${TRACE}-${PARENT}-01`,
      `000-${TRACE}-${PARENT}-01`,
      `0-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE}3-${PARENT}-01`,
      `00-${TRACE.slice(1)}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}7-01`,
      `00-${TRACE}-${PARENT}-.0`,
      `00-${TRACE}-${PARENT}-001`,
      `00-${TRACE}-${PARENT}-1`,
      `00-${TRACE.toUpperCase().replace(/1/g, 'A')}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}-01, 00-${TRACE}-${PARENT}-01`,
      `cc-${TRACE}-${PARENT}-01-${'x'.repeat(600)}`,
    ]) {
      expect(parseW3cTraceparent(value), value).toBeUndefined();
    }
  });

  it('keeps the sampled and random flags and zeroes the others', () => {
    expect(parseW3cTraceparent(`00-${TRACE}-${PARENT}-ff`)?.traceFlags).toBe(0x03);
    expect(parseW3cTraceparent(`00-${TRACE}-${PARENT}-02`)?.traceFlags).toBe(W3C_RANDOM);
    expect(parseW3cTraceparent(`00-${TRACE}-${PARENT}-04`)?.traceFlags).toBe(0);
  });
});

describe('W3cTraceContextPropagator', () => {
  it('forwards the caller context with the known flags and the tracestate', () => {
    expect(roundTrip({ traceparent: `00-${TRACE}-${PARENT}-03`, tracestate: 'foo@=1,bar=2' })).toEqual({
      traceparent: `00-${TRACE}-${PARENT}-03`,
      tracestate: 'foo@=1,bar=2',
    });
    expect(roundTrip({ traceparent: `00-${TRACE}-${PARENT}-fd` }).traceparent).toBe(
      `00-${TRACE}-${PARENT}-01`,
    );
  });

  it('combines repeated tracestate fields and refuses repeated traceparent fields', () => {
    expect(
      roundTrip({ traceparent: `00-${TRACE}-${PARENT}-00`, tracestate: ['foo=1', 'bar=2'] }).tracestate,
    ).toBe('foo=1,bar=2');
    expect(roundTrip({ traceparent: [`00-${TRACE}-${PARENT}-00`, `00-${TRACE}-${PARENT}-00`] })).toEqual({});
  });

  it('reads no tracestate without a valid traceparent, and drops an invalid one alone', () => {
    expect(roundTrip({ tracestate: 'foo=1' })).toEqual({});
    expect(roundTrip({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: '@foo=1' })).toEqual({
      traceparent: `00-${TRACE}-${PARENT}-01`,
    });
  });

  it('keeps the random flag through SDK child spans, which start with 00 or 01 only', () => {
    const tracer = new TracerProvider().getTracer('test');
    const extracted = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${TRACE}-${PARENT}-03` },
      defaultTextMapGetter,
    );
    const child = tracer.startSpan('child', {}, extracted);
    expect(child.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
    const grandchild = tracer.startSpan('grandchild', {}, trace.setSpan(extracted, child));
    const out: Record<string, string> = {};
    propagator.inject(trace.setSpan(trace.setSpan(extracted, child), grandchild), out, defaultTextMapSetter);
    expect(out.traceparent).toBe(`00-${TRACE}-${grandchild.spanContext().spanId}-03`);

    // A trace without the flag does not get it.
    const plain = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${TRACE}-${PARENT}-01` },
      defaultTextMapGetter,
    );
    const span = tracer.startSpan('child', {}, plain);
    const plainOut: Record<string, string> = {};
    propagator.inject(trace.setSpan(plain, span), plainOut, defaultTextMapSetter);
    expect(plainOut.traceparent?.endsWith('-01')).toBe(true);
  });

  it('ties the random flag to its trace id', () => {
    const ctx = contextWithSpanContext(ROOT_CONTEXT, {
      traceId: TRACE,
      spanId: PARENT,
      traceFlags: W3C_RANDOM,
      isRemote: true,
    });
    const other = trace.setSpanContext(ctx, {
      traceId: 'abcdefabcdefabcdefabcdefabcdefab',
      spanId: PARENT,
      traceFlags: TraceFlags.SAMPLED,
    });
    const out: Record<string, string> = {};
    propagator.inject(other, out, defaultTextMapSetter);
    expect(out.traceparent).toBe(`00-abcdefabcdefabcdefabcdefabcdefab-${PARENT}-01`);
  });

  it('injects nothing where tracing is suppressed (the exporters own requests)', () => {
    const ctx = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${TRACE}-${PARENT}-01` },
      defaultTextMapGetter,
    );
    const out: Record<string, string> = {};
    propagator.inject(suppressTracing(ctx), out, defaultTextMapSetter);
    expect(out).toEqual({});
  });
});
