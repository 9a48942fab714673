/**
 * The OTLP/JSON data model.
 *
 * Both encodings meet here: `JSON.parse` of an `application/json` body yields this model directly, and
 * `otlp-protobuf.ts` decodes the binary wire format into the same shape (camelCase names; bigints and
 * raw bytes where JSON has strings), so one flattening serves both and a test cannot pass for one
 * encoding and fail for the other because of the receiver. The model is loose on purpose: the JSON
 * mapping allows int64 values as strings or numbers, doubles as "NaN"/"Infinity" strings and enums as
 * integers (we also accept their names).
 */

/** An int64/uint64: a decimal string or a number in JSON, a bigint from the protobuf decoder. */
export type OtlpInt64 = string | number | bigint;
/** A double: JSON writes the non-finite values as "NaN", "Infinity" and "-Infinity". */
export type OtlpDouble = number | string;
/** An enum: an integer (what the spec requires and the JS exporter sends) or its proto name. */
export type OtlpEnum = number | string;
/** A trace or span id: hex in JSON, raw bytes from the protobuf decoder. */
export type OtlpId = string | Uint8Array;

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: OtlpInt64;
  doubleValue?: OtlpDouble;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  /** Base64 in JSON, raw bytes from the protobuf decoder. */
  bytesValue?: string | Uint8Array;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue;
}

export interface OtlpResource {
  attributes?: OtlpKeyValue[];
}

export interface OtlpScope {
  name?: string;
  version?: string;
  attributes?: OtlpKeyValue[];
}

export interface OtlpSpanEvent {
  timeUnixNano?: OtlpInt64;
  name?: string;
  attributes?: OtlpKeyValue[];
}

export interface OtlpSpanLink {
  traceId?: OtlpId;
  spanId?: OtlpId;
  traceState?: string;
  attributes?: OtlpKeyValue[];
  flags?: number;
}

export interface OtlpSpan {
  traceId?: OtlpId;
  spanId?: OtlpId;
  traceState?: string;
  parentSpanId?: OtlpId;
  name?: string;
  kind?: OtlpEnum;
  startTimeUnixNano?: OtlpInt64;
  endTimeUnixNano?: OtlpInt64;
  attributes?: OtlpKeyValue[];
  events?: OtlpSpanEvent[];
  links?: OtlpSpanLink[];
  status?: { message?: string; code?: OtlpEnum };
  flags?: number;
}

export interface OtlpTracesRequest {
  resourceSpans?: {
    resource?: OtlpResource;
    scopeSpans?: { scope?: OtlpScope; spans?: OtlpSpan[] }[];
  }[];
}

export interface OtlpPointBase {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano?: OtlpInt64;
  timeUnixNano?: OtlpInt64;
  flags?: number;
}

export interface OtlpNumberDataPoint extends OtlpPointBase {
  asDouble?: OtlpDouble;
  asInt?: OtlpInt64;
}

export interface OtlpHistogramDataPoint extends OtlpPointBase {
  count?: OtlpInt64;
  sum?: OtlpDouble;
  bucketCounts?: OtlpInt64[];
  explicitBounds?: OtlpDouble[];
  min?: OtlpDouble;
  max?: OtlpDouble;
}

export interface OtlpExponentialBuckets {
  offset?: number;
  bucketCounts?: OtlpInt64[];
}

export interface OtlpExponentialHistogramDataPoint extends OtlpPointBase {
  count?: OtlpInt64;
  sum?: OtlpDouble;
  scale?: number;
  zeroCount?: OtlpInt64;
  positive?: OtlpExponentialBuckets;
  negative?: OtlpExponentialBuckets;
  min?: OtlpDouble;
  max?: OtlpDouble;
  zeroThreshold?: OtlpDouble;
}

export interface OtlpSummaryDataPoint extends OtlpPointBase {
  count?: OtlpInt64;
  sum?: OtlpDouble;
  quantileValues?: { quantile?: OtlpDouble; value?: OtlpDouble }[];
}

export interface OtlpMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: OtlpNumberDataPoint[] };
  sum?: { dataPoints?: OtlpNumberDataPoint[]; aggregationTemporality?: OtlpEnum; isMonotonic?: boolean };
  histogram?: { dataPoints?: OtlpHistogramDataPoint[]; aggregationTemporality?: OtlpEnum };
  exponentialHistogram?: {
    dataPoints?: OtlpExponentialHistogramDataPoint[];
    aggregationTemporality?: OtlpEnum;
  };
  summary?: { dataPoints?: OtlpSummaryDataPoint[] };
}

export interface OtlpMetricsRequest {
  resourceMetrics?: {
    resource?: OtlpResource;
    scopeMetrics?: { scope?: OtlpScope; metrics?: OtlpMetric[] }[];
  }[];
}

export interface OtlpLogRecord {
  timeUnixNano?: OtlpInt64;
  observedTimeUnixNano?: OtlpInt64;
  severityNumber?: OtlpEnum;
  severityText?: string;
  body?: OtlpAnyValue;
  attributes?: OtlpKeyValue[];
  flags?: number;
  traceId?: OtlpId;
  spanId?: OtlpId;
  eventName?: string;
}

export interface OtlpLogsRequest {
  resourceLogs?: {
    resource?: OtlpResource;
    scopeLogs?: { scope?: OtlpScope; logRecords?: OtlpLogRecord[] }[];
  }[];
}
