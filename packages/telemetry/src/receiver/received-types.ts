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
  version?: string | undefined;
}

export type ReceivedSpanKind = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';

/** One span as the receiver got it, with its resource and scope copied in. */
export interface ReceivedSpan {
  /** Lowercase hex, like every id here. */
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId?: string | undefined;
  traceState?: string | undefined;
  name: string;
  kind: ReceivedSpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attrs;
  status: { code: 'UNSET' | 'OK' | 'ERROR'; message?: string | undefined };
  events: { name: string; timeUnixNano: bigint; attributes: Attrs }[];
  links: {
    traceId: string;
    spanId: string;
    traceState?: string | undefined;
    attributes: Attrs;
    flags?: number | undefined;
  }[];
  resource: Attrs;
  scope: ReceivedScope;
  /** W3C trace flags in the low byte, OTLP's has-is-remote/is-remote bits (0x100/0x200) above. */
  flags?: number | undefined;
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
  isMonotonic?: boolean | undefined;
  /** Sums and histograms only. */
  temporality?: ReceivedTemporality | undefined;
  attributes: Attrs;
  /** Gauges and sums: `asInt` or `asDouble`, whichever was sent. */
  value?: number | undefined;
  /** Histograms and summaries from here on. */
  count?: number | undefined;
  sum?: number | undefined;
  min?: number | undefined;
  max?: number | undefined;
  bucketCounts?: number[] | undefined;
  explicitBounds?: number[] | undefined;
  /** Exponential histograms only. */
  scale?: number | undefined;
  zeroCount?: number | undefined;
  zeroThreshold?: number | undefined;
  positive?: { offset: number; bucketCounts: number[] } | undefined;
  negative?: { offset: number; bucketCounts: number[] } | undefined;
  /** Summaries only. */
  quantileValues?: { quantile: number; value: number }[] | undefined;
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
  traceId?: string | undefined;
  spanId?: string | undefined;
  flags?: number | undefined;
  eventName?: string | undefined;
  resource: Attrs;
  scope: ReceivedScope;
}
