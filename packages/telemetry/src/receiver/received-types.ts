/** The plain records the receiver keeps: one per span, metric data point and log record. */

/**
 * An attribute or log body value. int64 values are numbers while they are safe integers and decimal
 * strings beyond that; bytes are a `Uint8Array`; an empty AnyValue (e.g. a `null` inside an array) is
 * `null`.
 */
export type AttrValue =
  | string
  | number
  | boolean
  | Uint8Array
  | null
  | AttrValue[]
  | { [key: string]: AttrValue };

export type Attrs = Record<string, AttrValue>;

export interface ReceivedScope {
  name: string;
  version?: string;
}

export type ReceivedSpanKind = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';

/** One span as the receiver got it, with its resource and scope copied in. */
export interface ReceivedSpan {
  /** Lowercase hex, like every id here. */
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: ReceivedSpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attrs;
  status: { code: 'UNSET' | 'OK' | 'ERROR'; message?: string };
  events: { name: string; timeUnixNano: bigint; attributes: Attrs }[];
  links: { traceId: string; spanId: string; traceState?: string; attributes: Attrs; flags?: number }[];
  resource: Attrs;
  scope: ReceivedScope;
  /** W3C trace flags in the low byte, OTLP's has-is-remote/is-remote bits (0x100/0x200) above. */
  flags?: number;
}

export type ReceivedMetricType = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
export type ReceivedTemporality = 'UNSPECIFIED' | 'DELTA' | 'CUMULATIVE';

/** One metric data point, with its metric's descriptor, resource and scope copied in. */
export interface ReceivedMetric {
  name: string;
  description: string;
  unit: string;
  type: ReceivedMetricType;
  /** Sums only. */
  isMonotonic?: boolean;
  /** Sums and histograms only. */
  temporality?: ReceivedTemporality;
  attributes: Attrs;
  /** Gauges and sums: `asInt` or `asDouble`, whichever was sent. */
  value?: number;
  /** Histograms and summaries from here on. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  /** Exponential histograms only. */
  scale?: number;
  zeroCount?: number;
  zeroThreshold?: number;
  positive?: { offset: number; bucketCounts: number[] };
  negative?: { offset: number; bucketCounts: number[] };
  /** Summaries only. */
  quantileValues?: { quantile: number; value: number }[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  resource: Attrs;
  scope: ReceivedScope;
}

/** One log record, with its resource and scope copied in. */
export interface ReceivedLogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  /** 0 when unset. */
  severityNumber: number;
  /** '' when unset. */
  severityText: string;
  /** Undefined when the record has no body. */
  body: AttrValue | undefined;
  attributes: Attrs;
  traceId?: string;
  spanId?: string;
  flags?: number;
  eventName?: string;
  resource: Attrs;
  scope: ReceivedScope;
}
