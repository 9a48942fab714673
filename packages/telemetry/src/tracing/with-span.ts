import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { FlowtraceAttributes } from '../attributes.ts';
import { ATTR_ERROR_TYPE } from '../semconv.ts';

export interface WithSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Parent context; the active context when omitted. */
  parent?: Context;
  startTime?: number;
}

/** The short error class for `error.type`: our stable code when there is one, else the error's name. */
export function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) return name;
  }
  return 'Error';
}

/** Marks a span failed: records the exception, sets `error.type` and ERROR status. */
export function recordSpanError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') span.setAttribute(FlowtraceAttributes.ERROR_CODE, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

/**
 * Runs `fn` inside a new active span. The span records a thrown error (ERROR status, `error.type`) and
 * always ends, also when `fn` throws.
 */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  options: WithSpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    {
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
      ...(options.links === undefined ? {} : { links: options.links }),
      ...(options.startTime === undefined ? {} : { startTime: options.startTime }),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    recordSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
}
