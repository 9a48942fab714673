export { FlowtraceAttributes, FlowtraceEvents, FlowtraceLinkTypes } from './attributes.ts';
export { createLogger, type Logger, type LoggerOptions } from './logging/logger.ts';
export { METRICS, type MetricKey, type MetricSpec } from './metric-names.ts';
export {
  carrierFromHeaders,
  carrierFromSpanContext,
  carrierSpanContext,
  extractCarrier,
  injectCarrier,
  type TraceCarrier,
} from './propagation/carrier.ts';
export { traceContextHeaders } from './propagation/outgoing-headers.ts';
export { beginRequestTrace, type RequestTrace } from './propagation/request-trace.ts';
export {
  contextWithSpanContext,
  formatTraceparent,
  parseW3cTraceContext,
  parseW3cTraceparent,
  W3C_RANDOM,
  W3C_SAMPLED,
  W3cTraceContextPropagator,
  w3cTraceFlags,
} from './propagation/w3c-trace-context.ts';
export { W3cTraceState } from './propagation/w3c-trace-state.ts';
export * as semconv from './semconv.ts';
export {
  type DeferredSpan,
  type DeferredSpanEmitter,
  type DeferredSpanStart,
  noopDeferredSpanEmitter,
  spanEndTime,
  timeInputMillis,
} from './tracing/deferred-span.ts';
export { newSpanId, newTraceId } from './tracing/ids.ts';
export { errorType, recordSpanError, type WithSpanOptions, withSpan } from './tracing/with-span.ts';
