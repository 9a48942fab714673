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
} from './otlp-json.ts';
export { OtlpReceiver, type OtlpReceiverOptions, type WaitForOptions } from './otlp-receiver.ts';
