import {
  type Context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3cTraceState } from '../propagation/w3c-trace-state.ts';
import { ATTR_EXCEPTION_MESSAGE, ATTR_EXCEPTION_TYPE, EVENT_EXCEPTION } from '../semconv.ts';
import {
  type DeferredSpan,
  type DeferredSpanEmitter,
  type DeferredSpanStart,
  noopDeferredSpanEmitter,
} from '../tracing/deferred-span.ts';
import type { PresetIdGenerator } from './preset-id-generator.ts';

/** Emits deferred spans through the SDK tracer, with their preset ids and original start time. */
export class SdkDeferredSpanEmitter implements DeferredSpanEmitter {
  readonly #tracer: Tracer;
  readonly #ids: PresetIdGenerator;

  constructor(deps: { tracer: Tracer; ids: PresetIdGenerator }) {
    this.#tracer = deps.tracer;
    this.#ids = deps.ids;
  }

  begin(parent: Context): DeferredSpanStart {
    // A span that is started and never ended is never exported: it only draws the ids and the sampling
    // decision. Emitting later with the same trace id repeats the same (trace-id based) decision.
    const probe = this.#tracer.startSpan('deferred', { kind: SpanKind.INTERNAL }, parent);
    const spanContext = probe.spanContext();
    // No tracer provider (e.g. OTEL_TRACES_EXPORTER=none): still hand out real ids so rows correlate.
    if (!isSpanContextValid(spanContext)) return noopDeferredSpanEmitter.begin(parent);
    const parentContext = trace.getSpanContext(parent);
    return {
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
      parentSpanId: parentContext && isSpanContextValid(parentContext) ? parentContext.spanId : undefined,
      traceFlags: spanContext.traceFlags,
      traceState: spanContext.traceState?.serialize() || undefined,
    };
  }

  emit(deferred: DeferredSpan): void {
    const traceState = W3cTraceState.parse(deferred.traceState);
    const parent =
      deferred.parentSpanId === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: deferred.traceId,
            spanId: deferred.parentSpanId,
            traceFlags: deferred.traceFlags,
            isRemote: true,
            ...(traceState ? { traceState } : {}),
          });
    const span = this.#ids.withPresetIds({ traceId: deferred.traceId, spanId: deferred.spanId }, () =>
      this.#tracer.startSpan(
        deferred.name,
        {
          kind: deferred.kind ?? SpanKind.INTERNAL,
          startTime: deferred.startTime,
          ...(deferred.attributes ? { attributes: deferred.attributes } : {}),
          ...(deferred.links ? { links: deferred.links } : {}),
        },
        parent,
      ),
    );
    if (deferred.error) {
      span.addEvent(EVENT_EXCEPTION, {
        [ATTR_EXCEPTION_TYPE]: deferred.error.type,
        [ATTR_EXCEPTION_MESSAGE]: deferred.error.message,
      });
    }
    if (deferred.status) span.setStatus(deferred.status);
    else if (deferred.error) span.setStatus({ code: SpanStatusCode.ERROR, message: deferred.error.message });
    span.end(deferred.endTime ?? new Date());
  }
}
