export { FlowtraceAttributes } from './attributes.ts';
export { createLogger, type Logger, type LoggerOptions } from './logging/logger.ts';
export { METRICS, type MetricKey, type MetricSpec } from './metric-names.ts';
export {
  carrierFromSpanContext,
  carrierSpanContext,
  extractCarrier,
  injectCarrier,
  parseTraceparent,
  type TraceCarrier,
} from './propagation/carrier.ts';
export * as semconv from './semconv.ts';
export {
  type DeferredSpan,
  type DeferredSpanEmitter,
  noopDeferredSpanEmitter,
} from './tracing/deferred-span.ts';
export { newSpanId, newTraceId } from './tracing/ids.ts';
export { errorType, recordSpanError, type WithSpanOptions, withSpan } from './tracing/with-span.ts';
