/**
 * The OTLP/JSON data model, and its flattening into the plain records tests assert on.
 *
 * Both encodings meet here: `JSON.parse` of an `application/json` body yields this model directly, and
 * `otlp-protobuf.ts` decodes the binary wire format into the same shape (camelCase names, hex ids), so
 * one flattening serves both and a test cannot pass for one encoding and fail for the other because of
 * the receiver. The model is loose on purpose: the JSON mapping allows int64 values as strings or
 * numbers, doubles as "NaN"/"Infinity" strings and enums as integers (we also accept their names).
 */

/** An int64/uint64: a decimal string or a number in JSON, a bigint from the protobuf decoder. */
export type OtlpInt64 = string | number | bigint;
/** A double: JSON writes the non-finite values as "NaN", "Infinity" and "-Infinity". */
export type OtlpDouble = number | string;
/** An enum: an integer (what the spec requires and the JS exporter sends) or its proto name. */
export type OtlpEnum = number | string;

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
  traceId?: string;
  spanId?: string;
  traceState?: string;
  attributes?: OtlpKeyValue[];
  flags?: number;
}

export interface OtlpSpan {
  /** Hex (the OTLP/JSON mapping; the protobuf decoder converts the bytes). */
  traceId?: string;
  spanId?: string;
  traceState?: string;
  parentSpanId?: string;
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

interface OtlpPointBase {
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
  traceId?: string;
  spanId?: string;
  eventName?: string;
}

export interface OtlpLogsRequest {
  resourceLogs?: {
    resource?: OtlpResource;
    scopeLogs?: { scope?: OtlpScope; logRecords?: OtlpLogRecord[] }[];
  }[];
}

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

const SPAN_KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;
const TEMPORALITIES = ['UNSPECIFIED', 'DELTA', 'CUMULATIVE'] as const;
const SEVERITIES = [
  'UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((s) => [s, `${s}2`, `${s}3`, `${s}4`]),
];

/** Flattens an export request (either encoding) into one record per span. */
export function flattenTraces(request: OtlpTracesRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = toAttrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = toScope(ss.scope);
      for (const span of ss.spans ?? []) {
        const status: ReceivedSpan['status'] = {
          code: enumName(span.status?.code, STATUS_CODES, 'STATUS_CODE_'),
        };
        if (span.status?.message) status.message = span.status.message;
        out.push({
          traceId: toId(span.traceId) ?? '',
          spanId: toId(span.spanId) ?? '',
          parentSpanId: toId(span.parentSpanId),
          traceState: span.traceState || undefined,
          name: span.name ?? '',
          kind: enumName(span.kind, SPAN_KINDS, 'SPAN_KIND_'),
          startTimeUnixNano: toBigInt(span.startTimeUnixNano),
          endTimeUnixNano: toBigInt(span.endTimeUnixNano),
          attributes: toAttrs(span.attributes),
          status,
          events: (span.events ?? []).map((e) => ({
            name: e.name ?? '',
            timeUnixNano: toBigInt(e.timeUnixNano),
            attributes: toAttrs(e.attributes),
          })),
          links: (span.links ?? []).map((l) => ({
            traceId: toId(l.traceId) ?? '',
            spanId: toId(l.spanId) ?? '',
            traceState: l.traceState || undefined,
            attributes: toAttrs(l.attributes),
            flags: l.flags,
          })),
          resource,
          scope,
          flags: span.flags,
        });
      }
    }
  }
  return out;
}

/** Flattens an export request (either encoding) into one record per data point. */
export function flattenMetrics(request: OtlpMetricsRequest): ReceivedMetric[] {
  const out: ReceivedMetric[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = toAttrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = toScope(sm.scope);
      for (const metric of sm.metrics ?? []) {
        const descriptor = {
          name: metric.name ?? '',
          description: metric.description ?? '',
          unit: metric.unit ?? '',
        };
        const point = (type: ReceivedMetricType, dp: OtlpPointBase): ReceivedMetric => ({
          ...descriptor,
          type,
          attributes: toAttrs(dp.attributes),
          startTimeUnixNano: toBigInt(dp.startTimeUnixNano),
          timeUnixNano: toBigInt(dp.timeUnixNano),
          resource,
          scope,
        });
        for (const dp of metric.gauge?.dataPoints ?? []) {
          out.push({ ...point('gauge', dp), value: numberPointValue(dp) });
        }
        if (metric.sum) {
          const temporality = toTemporality(metric.sum.aggregationTemporality);
          const isMonotonic = metric.sum.isMonotonic === true;
          for (const dp of metric.sum.dataPoints ?? []) {
            out.push({ ...point('sum', dp), isMonotonic, temporality, value: numberPointValue(dp) });
          }
        }
        if (metric.histogram) {
          const temporality = toTemporality(metric.histogram.aggregationTemporality);
          for (const dp of metric.histogram.dataPoints ?? []) {
            out.push({
              ...point('histogram', dp),
              temporality,
              count: toNumber(dp.count),
              sum: toDouble(dp.sum),
              min: toDouble(dp.min),
              max: toDouble(dp.max),
              bucketCounts: (dp.bucketCounts ?? []).map(toNumber),
              explicitBounds: (dp.explicitBounds ?? []).map((b) => toDouble(b) ?? Number.NaN),
            });
          }
        }
        if (metric.exponentialHistogram) {
          const temporality = toTemporality(metric.exponentialHistogram.aggregationTemporality);
          for (const dp of metric.exponentialHistogram.dataPoints ?? []) {
            out.push({
              ...point('exponentialHistogram', dp),
              temporality,
              count: toNumber(dp.count),
              sum: toDouble(dp.sum),
              min: toDouble(dp.min),
              max: toDouble(dp.max),
              scale: dp.scale ?? 0,
              zeroCount: toNumber(dp.zeroCount),
              zeroThreshold: toDouble(dp.zeroThreshold),
              positive: toBuckets(dp.positive),
              negative: toBuckets(dp.negative),
            });
          }
        }
        for (const dp of metric.summary?.dataPoints ?? []) {
          out.push({
            ...point('summary', dp),
            count: toNumber(dp.count),
            sum: toDouble(dp.sum),
            quantileValues: (dp.quantileValues ?? []).map((q) => ({
              quantile: toDouble(q.quantile) ?? 0,
              value: toDouble(q.value) ?? 0,
            })),
          });
        }
      }
    }
  }
  return out;
}

/** Flattens an export request (either encoding) into one record per log record. */
export function flattenLogs(request: OtlpLogsRequest): ReceivedLogRecord[] {
  const out: ReceivedLogRecord[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = toAttrs(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      const scope = toScope(sl.scope);
      for (const log of sl.logRecords ?? []) {
        out.push({
          timeUnixNano: toBigInt(log.timeUnixNano),
          observedTimeUnixNano: toBigInt(log.observedTimeUnixNano),
          severityNumber: enumIndex(log.severityNumber, SEVERITIES, 'SEVERITY_NUMBER_'),
          severityText: log.severityText ?? '',
          // The JS JSON exporter sends `body: {}` for a record without one; protobuf omits the field.
          body: toAttrValue(log.body) ?? undefined,
          attributes: toAttrs(log.attributes),
          traceId: toId(log.traceId),
          spanId: toId(log.spanId),
          flags: log.flags || undefined,
          eventName: log.eventName || undefined,
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

function toTemporality(value: OtlpEnum | undefined): ReceivedTemporality {
  return enumName(value, TEMPORALITIES, 'AGGREGATION_TEMPORALITY_');
}

function toScope(scope: OtlpScope | undefined): ReceivedScope {
  const out: ReceivedScope = { name: scope?.name ?? '' };
  if (scope?.version) out.version = scope.version;
  return out;
}

function toAttrs(kvs: OtlpKeyValue[] | undefined): Attrs {
  // fromEntries defines own properties, so a `__proto__` key stays data instead of a prototype.
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key ?? '', toAttrValue(kv.value)]));
}

function toAttrValue(value: OtlpAnyValue | undefined): AttrValue {
  // `!= null` throughout: JSON.stringify turns a NaN or infinite double into `null`, so the JS JSON
  // exporter sends `{ "doubleValue": null }` for those, which can only be read as "no value".
  if (value == null) return null;
  if (value.stringValue != null) return value.stringValue;
  if (value.boolValue != null) return value.boolValue;
  if (value.intValue != null) return int64ToAttr(value.intValue);
  if (value.doubleValue != null) return Number(value.doubleValue);
  if (value.arrayValue != null) return (value.arrayValue.values ?? []).map(toAttrValue);
  if (value.kvlistValue != null) return toAttrs(value.kvlistValue.values);
  if (value.bytesValue != null) {
    const bytes = value.bytesValue;
    return new Uint8Array(typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : bytes);
  }
  return null;
}

function int64ToAttr(value: OtlpInt64): number | string {
  const big = BigInt(value);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}

function toBuckets(buckets: OtlpExponentialBuckets | undefined): { offset: number; bucketCounts: number[] } {
  return { offset: buckets?.offset ?? 0, bucketCounts: (buckets?.bucketCounts ?? []).map(toNumber) };
}

function numberPointValue(dp: OtlpNumberDataPoint): number | undefined {
  if (dp.asInt !== undefined) return toNumber(dp.asInt);
  return toDouble(dp.asDouble);
}

function toBigInt(value: OtlpInt64 | undefined): bigint {
  return value === undefined || value === '' ? 0n : BigInt(value);
}

function toNumber(value: OtlpInt64 | undefined): number {
  return value === undefined ? 0 : Number(value);
}

function toDouble(value: OtlpDouble | undefined): number | undefined {
  // Number() reads "NaN", "Infinity" and "-Infinity" as the JSON mapping writes them.
  return value === undefined ? undefined : Number(value);
}

/**
 * Ids are hex in OTLP/JSON (and from our protobuf decoder); base64, which some older JSON exporters
 * sent, is accepted when the length says it cannot be hex.
 */
function toId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  if (/^(?:[0-9a-f]{16}|[0-9a-f]{32})$/i.test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

function enumIndex(value: OtlpEnum | undefined, names: readonly string[], prefix: string): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (/^-?\d+$/.test(value)) return Number(value);
  const index = names.indexOf(value.startsWith(prefix) ? value.slice(prefix.length) : value);
  return Math.max(0, index);
}

function enumName<T extends string>(
  value: OtlpEnum | undefined,
  names: readonly [T, ...T[]],
  prefix: string,
): T {
  return names[enumIndex(value, names, prefix)] ?? names[0];
}
