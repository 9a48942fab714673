/** Flattens OTLP requests (JSON, or protobuf decoded into the same model) into the receiver's records. */
import type {
  OtlpAnyValue,
  OtlpDouble,
  OtlpEnum,
  OtlpExponentialBuckets,
  OtlpId,
  OtlpInt64,
  OtlpKeyValue,
  OtlpLogsRequest,
  OtlpMetricsRequest,
  OtlpNumberDataPoint,
  OtlpPointBase,
  OtlpScope,
  OtlpTracesRequest,
} from './otlp-model.ts';
import type {
  Attrs,
  AttrValue,
  ReceivedLogRecord,
  ReceivedMetric,
  ReceivedMetricType,
  ReceivedScope,
  ReceivedSpan,
  ReceivedTemporality,
} from './received-types.ts';

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
 * Ids are hex in OTLP/JSON and raw bytes from the protobuf decoder; base64, which some older JSON
 * exporters sent, is accepted when the length says it cannot be hex. An empty id is no id.
 */
function toId(id: OtlpId | undefined): string | undefined {
  if (id === undefined || id.length === 0) return undefined;
  if (typeof id !== 'string') return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
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
