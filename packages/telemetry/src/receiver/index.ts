export { OtlpReceiver, type OtlpReceiverOptions, type WaitForOptions } from './otlp-receiver.ts';
export type {
  Attrs,
  AttrValue,
  ReceivedLogRecord,
  ReceivedMetric,
  ReceivedMetricType,
  ReceivedScope,
  ReceivedSpan,
  ReceivedSpanKind,
  ReceivedTemporality,
} from './received-types.ts';
