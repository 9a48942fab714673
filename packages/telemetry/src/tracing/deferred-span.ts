import {
  type Attributes,
  type Context,
  type HrTime,
  isSpanContextValid,
  type Link,
  type Span,
  type SpanKind,
  type SpanStatus,
  type TimeInput,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { newSpanId, newTraceId } from './ids.ts';

/**
 * A span whose ids were fixed when it began, in one process, and which another process records when it
 * ends. `invoke_workflow` works this way: the API picks its span id at submission so every node span can
 * be its descendant, and whichever worker finishes the run emits it with the original start time.
 */
export interface DeferredSpan {
  name: string;
  kind?: SpanKind;
  traceId: string;
  spanId: string;
  /** Omitted for a root span. */
  parentSpanId?: string;
  traceFlags: number;
  traceState?: string;
  startTime: Date;
  /** Now when omitted. An `HrTime` read from another span (`spanEndTime`) keeps that span's precision. */
  endTime?: TimeInput;
  attributes?: Attributes;
  links?: Link[];
  status?: SpanStatus;
  /** Recorded as an exception event when present. */
  error?: { type: string; message: string };
}

/** The ids and sampling decision of a deferred span, fixed when it begins. */
export interface DeferredSpanStart {
  traceId: string;
  spanId: string;
  /** The span's parent in the `parent` context, when it had a valid one. */
  parentSpanId: string | undefined;
  traceFlags: number;
  traceState: string | undefined;
}

export interface DeferredSpanEmitter {
  /**
   * Fixes a deferred span's ids as a child of `parent`, with the sampler's decision (the parent's, or a
   * root decision when there is no parent) so that every descendant agrees with it.
   */
  begin(parent: Context): DeferredSpanStart;
  emit(span: DeferredSpan): void;
}

/** Used when telemetry is disabled: ids are still generated so rows stay correlated. */
export const noopDeferredSpanEmitter: DeferredSpanEmitter = {
  begin: (parent) => {
    const parentContext = trace.getSpanContext(parent);
    const valid = parentContext !== undefined && isSpanContextValid(parentContext);
    return {
      traceId: valid ? parentContext.traceId : newTraceId(),
      spanId: newSpanId(),
      parentSpanId: valid ? parentContext.spanId : undefined,
      traceFlags: valid ? parentContext.traceFlags : TraceFlags.NONE,
      traceState: valid ? parentContext.traceState?.serialize() || undefined : undefined,
    };
  },
  emit: () => {},
};

/**
 * When a span ended, as the SDK recorded it; undefined for a span that has not ended or records nothing
 * (no SDK, or sampled out). Lets a deferred span end at exactly the same instant as the span it must cover.
 */
export function spanEndTime(span: Span): HrTime | undefined {
  const recorded = span as Partial<{ ended: boolean; endTime: HrTime }>;
  return recorded.ended === true && Array.isArray(recorded.endTime) ? recorded.endTime : undefined;
}

/** Milliseconds since the epoch of a `TimeInput` given as a Date or an `HrTime`. */
export function timeInputMillis(time: Date | HrTime): number {
  return time instanceof Date ? time.getTime() : time[0] * 1000 + time[1] / 1e6;
}
