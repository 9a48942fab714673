import type { Attributes, Link, SpanKind, SpanStatus } from '@opentelemetry/api';

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

export interface DeferredSpanEmitter {
  emit(span: DeferredSpan): void;
}

/** Used when telemetry is disabled. */
export const noopDeferredSpanEmitter: DeferredSpanEmitter = { emit: () => {} };
