import {
  type Attributes,
  type Context,
  isSpanContextValid,
  type Link,
  type SpanKind,
  type SpanStatus,
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
  endTime?: Date;
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
