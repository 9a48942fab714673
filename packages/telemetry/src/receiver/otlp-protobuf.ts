import type {
  OtlpAnyValue,
  OtlpExponentialBuckets,
  OtlpExponentialHistogramDataPoint,
  OtlpHistogramDataPoint,
  OtlpKeyValue,
  OtlpLogRecord,
  OtlpLogsRequest,
  OtlpMetric,
  OtlpMetricsRequest,
  OtlpNumberDataPoint,
  OtlpResource,
  OtlpScope,
  OtlpSpan,
  OtlpSpanEvent,
  OtlpSpanLink,
  OtlpSummaryDataPoint,
  OtlpTracesRequest,
} from './otlp-model.ts';

/**
 * A decoder for the OTLP protobuf messages the exporters send, written against the wire format so the
 * tests need neither protobufjs nor the .proto files. It produces the OTLP/JSON object model (hex ids,
 * bigint int64s, integer enums), which `otlp-json.ts` flattens for both encodings.
 *
 * Field numbers follow opentelemetry-proto v1 (common, resource, trace, metrics, logs and the collector
 * services). Unknown fields are skipped by wire type; a known field with an unexpected wire type is an
 * error, except repeated scalars, which are accepted packed or unpacked as the protobuf spec requires.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Sequential reader over one message's bytes. */
class Reader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  readonly #end: number;
  #pos: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  more(): boolean {
    return this.#pos < this.#end;
  }

  /** The next field's number and wire type. */
  tag(): [field: number, wire: number] {
    const key = this.#uint32();
    const field = key >>> 3;
    if (field === 0) throw new Error(`invalid field number 0 at byte ${this.#pos}`);
    return [field, key & 7];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.#varint();
        return;
      case WIRE_I64:
        this.#advance(8);
        return;
      case WIRE_LEN:
        this.#advance(this.#uint32());
        return;
      case WIRE_I32:
        this.#advance(4);
        return;
      default:
        // Groups (3, 4) are deprecated and never used by OTLP; anything else is corruption.
        throw new Error(`unsupported wire type ${wire} at byte ${this.#pos}`);
    }
  }

  message(wire: number): Reader {
    this.#expect(wire, WIRE_LEN);
    const length = this.#uint32();
    const start = this.#advance(length);
    return new Reader(this.#buf, start, start + length);
  }

  string(wire: number): string {
    return Buffer.from(this.bytes(wire)).toString('utf8');
  }

  bytes(wire: number): Uint8Array {
    this.#expect(wire, WIRE_LEN);
    const length = this.#uint32();
    const start = this.#advance(length);
    return this.#buf.subarray(start, start + length);
  }

  hex(wire: number): string {
    return Buffer.from(this.bytes(wire)).toString('hex');
  }

  bool(wire: number): boolean {
    this.#expect(wire, WIRE_VARINT);
    return this.#varint() !== 0n;
  }

  /** int32 and enums: a negative value arrives as a 10-byte varint whose low 32 bits are kept. */
  int32(wire: number): number {
    this.#expect(wire, WIRE_VARINT);
    return this.#uint32() | 0;
  }

  uint32(wire: number): number {
    this.#expect(wire, WIRE_VARINT);
    return this.#uint32();
  }

  sint32(wire: number): number {
    const n = this.uint32(wire);
    return (n >>> 1) ^ -(n & 1);
  }

  int64(wire: number): bigint {
    this.#expect(wire, WIRE_VARINT);
    return BigInt.asIntN(64, this.#varint());
  }

  fixed64(wire: number): bigint {
    this.#expect(wire, WIRE_I64);
    return this.#view.getBigUint64(this.#advance(8), true);
  }

  sfixed64(wire: number): bigint {
    this.#expect(wire, WIRE_I64);
    return this.#view.getBigInt64(this.#advance(8), true);
  }

  fixed32(wire: number): number {
    this.#expect(wire, WIRE_I32);
    return this.#view.getUint32(this.#advance(4), true);
  }

  double(wire: number): number {
    this.#expect(wire, WIRE_I64);
    return this.#view.getFloat64(this.#advance(8), true);
  }

  uint64(wire: number): bigint {
    this.#expect(wire, WIRE_VARINT);
    return this.#varint();
  }

  #expect(wire: number, expected: number): void {
    if (wire !== expected) {
      throw new Error(`wire type ${wire} where ${expected} was expected, before byte ${this.#pos}`);
    }
  }

  /** Moves past `length` bytes and returns where they start. */
  #advance(length: number): number {
    const start = this.#pos;
    if (length < 0 || start + length > this.#end) {
      throw new Error(
        `truncated message: ${length} bytes needed at byte ${start}, ${this.#end - start} left`,
      );
    }
    this.#pos = start + length;
    return start;
  }

  #byte(): number {
    const b = this.#buf[this.#advance(1)];
    if (b === undefined) throw new Error('unreachable: read past the buffer');
    return b;
  }

  /** A full 64-bit varint, unsigned. */
  #varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte();
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new Error(`varint longer than 10 bytes before byte ${this.#pos}`);
  }

  /** A varint's low 32 bits as an unsigned number, without going through bigint. */
  #uint32(): number {
    let result = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte();
      if (i < 5) result += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return result % 2 ** 32;
    }
    throw new Error(`varint longer than 10 bytes before byte ${this.#pos}`);
  }
}

/** Decodes the body of `POST /v1/traces`: `ExportTraceServiceRequest`. */
export function decodeTracesRequest(body: Uint8Array): OtlpTracesRequest {
  return decodeMessage(TRACES_REQUEST, new Reader(body));
}

/** Decodes the body of `POST /v1/metrics`: `ExportMetricsServiceRequest`. */
export function decodeMetricsRequest(body: Uint8Array): OtlpMetricsRequest {
  return decodeMessage(METRICS_REQUEST, new Reader(body));
}

/** Decodes the body of `POST /v1/logs`: `ExportLogsServiceRequest`. */
export function decodeLogsRequest(body: Uint8Array): OtlpLogsRequest {
  return decodeMessage(LOGS_REQUEST, new Reader(body));
}

/**
 * Reads one occurrence of a field. `previous` is what earlier occurrences of the field built, which only
 * repeated fields use; it is `unknown` so that `Read` stays covariant in `V`.
 */
type Read<V> = (r: Reader, wire: number, previous: unknown) => V;

/** A message's known fields, by number: the property each fills and how to read it. */
type Schema<T> = {
  readonly [field: number]: { [K in keyof T]-?: readonly [K, Read<NonNullable<T[K]>>] }[keyof T];
};

function decodeMessage<T>(schema: Schema<T>, r: Reader): T {
  const out: Partial<Record<keyof T, unknown>> = {};
  while (r.more()) {
    const [field, wire] = r.tag();
    const known = schema[field];
    if (known === undefined) {
      r.skip(wire);
      continue;
    }
    const [key, read] = known;
    out[key] = read(r, wire, out[key]);
  }
  return out as T;
}

const string: Read<string> = (r, wire) => r.string(wire);
const hex: Read<string> = (r, wire) => r.hex(wire);
// Copied so a stored value does not pin the whole request buffer.
const bytes: Read<Uint8Array> = (r, wire) => new Uint8Array(r.bytes(wire));
const bool: Read<boolean> = (r, wire) => r.bool(wire);
const enumeration: Read<number> = (r, wire) => r.int32(wire);
const uint32: Read<number> = (r, wire) => r.uint32(wire);
const sint32: Read<number> = (r, wire) => r.sint32(wire);
const int64: Read<bigint> = (r, wire) => r.int64(wire);
const uint64: Read<bigint> = (r, wire) => r.uint64(wire);
const fixed64: Read<bigint> = (r, wire) => r.fixed64(wire);
const sfixed64: Read<bigint> = (r, wire) => r.sfixed64(wire);
const fixed32: Read<number> = (r, wire) => r.fixed32(wire);
const double: Read<number> = (r, wire) => r.double(wire);

/** A sub-message; the schema is a thunk because AnyValue and KeyValue refer to each other. */
function message<T>(schema: () => Schema<T>): Read<T> {
  return (r, wire) => decodeMessage(schema(), r.message(wire));
}

/** A repeated message or string field: one element per occurrence. */
function repeated<T>(read: Read<T>): Read<T[]> {
  return (r, wire, previous) => {
    const list = (previous as T[] | undefined) ?? [];
    list.push(read(r, wire, undefined));
    return list;
  };
}

/** A repeated scalar: accepted packed (one length-delimited run) or unpacked, as parsers must. */
function packed<T>(read: Read<T>, elementWire: number): Read<T[]> {
  return (r, wire, previous) => {
    const list = (previous as T[] | undefined) ?? [];
    if (wire !== WIRE_LEN) {
      list.push(read(r, wire, undefined));
      return list;
    }
    const run = r.message(wire);
    while (run.more()) list.push(read(run, elementWire, undefined));
    return list;
  };
}

// Field numbers below are opentelemetry-proto v1's; fields the receiver has no use for (dropped_*_count,
// schema_url, exemplars, metadata, entity_refs) are left out and so skipped.

// ---- common.proto, resource.proto ---------------------------------------------------------------

/** A oneof: the exporters send exactly one member. */
const ANY_VALUE: Schema<OtlpAnyValue> = {
  1: ['stringValue', string],
  2: ['boolValue', bool],
  3: ['intValue', int64],
  4: ['doubleValue', double],
  5: ['arrayValue', message(() => ARRAY_VALUE)],
  6: ['kvlistValue', message(() => KEY_VALUE_LIST)],
  7: ['bytesValue', bytes],
};
const ARRAY_VALUE: Schema<NonNullable<OtlpAnyValue['arrayValue']>> = {
  1: ['values', repeated(message(() => ANY_VALUE))],
};
const KEY_VALUE: Schema<OtlpKeyValue> = { 1: ['key', string], 2: ['value', message(() => ANY_VALUE)] };
const KEY_VALUE_LIST: Schema<NonNullable<OtlpAnyValue['kvlistValue']>> = {
  1: ['values', repeated(message(() => KEY_VALUE))],
};
const attributes = repeated(message(() => KEY_VALUE));
const RESOURCE: Schema<OtlpResource> = { 1: ['attributes', attributes] };
const SCOPE: Schema<OtlpScope> = {
  1: ['name', string],
  2: ['version', string],
  3: ['attributes', attributes],
};
const resource = message(() => RESOURCE);
const scope = message(() => SCOPE);

// ---- trace.proto, trace_service.proto -----------------------------------------------------------

type ResourceSpans = NonNullable<OtlpTracesRequest['resourceSpans']>[number];
type ScopeSpans = NonNullable<ResourceSpans['scopeSpans']>[number];

const SPAN_EVENT: Schema<OtlpSpanEvent> = {
  1: ['timeUnixNano', fixed64],
  2: ['name', string],
  3: ['attributes', attributes],
};
const SPAN_LINK: Schema<OtlpSpanLink> = {
  1: ['traceId', hex],
  2: ['spanId', hex],
  3: ['traceState', string],
  4: ['attributes', attributes],
  6: ['flags', fixed32],
};
const SPAN_STATUS: Schema<NonNullable<OtlpSpan['status']>> = {
  2: ['message', string],
  3: ['code', enumeration],
};
const SPAN: Schema<OtlpSpan> = {
  1: ['traceId', hex],
  2: ['spanId', hex],
  3: ['traceState', string],
  4: ['parentSpanId', hex],
  5: ['name', string],
  6: ['kind', enumeration],
  7: ['startTimeUnixNano', fixed64],
  8: ['endTimeUnixNano', fixed64],
  9: ['attributes', attributes],
  11: ['events', repeated(message(() => SPAN_EVENT))],
  13: ['links', repeated(message(() => SPAN_LINK))],
  15: ['status', message(() => SPAN_STATUS)],
  16: ['flags', fixed32],
};
const SCOPE_SPANS: Schema<ScopeSpans> = { 1: ['scope', scope], 2: ['spans', repeated(message(() => SPAN))] };
const RESOURCE_SPANS: Schema<ResourceSpans> = {
  1: ['resource', resource],
  2: ['scopeSpans', repeated(message(() => SCOPE_SPANS))],
};
const TRACES_REQUEST: Schema<OtlpTracesRequest> = {
  1: ['resourceSpans', repeated(message(() => RESOURCE_SPANS))],
};

// ---- metrics.proto, metrics_service.proto -------------------------------------------------------

type ResourceMetrics = NonNullable<OtlpMetricsRequest['resourceMetrics']>[number];
type ScopeMetrics = NonNullable<ResourceMetrics['scopeMetrics']>[number];
type SummaryQuantile = NonNullable<OtlpSummaryDataPoint['quantileValues']>[number];

const NUMBER_POINT: Schema<OtlpNumberDataPoint> = {
  2: ['startTimeUnixNano', fixed64],
  3: ['timeUnixNano', fixed64],
  4: ['asDouble', double],
  6: ['asInt', sfixed64],
  7: ['attributes', attributes],
  8: ['flags', uint32],
};
const HISTOGRAM_POINT: Schema<OtlpHistogramDataPoint> = {
  2: ['startTimeUnixNano', fixed64],
  3: ['timeUnixNano', fixed64],
  4: ['count', fixed64],
  5: ['sum', double],
  6: ['bucketCounts', packed(fixed64, WIRE_I64)],
  7: ['explicitBounds', packed(double, WIRE_I64)],
  9: ['attributes', attributes],
  10: ['flags', uint32],
  11: ['min', double],
  12: ['max', double],
};
const EXPONENTIAL_BUCKETS: Schema<OtlpExponentialBuckets> = {
  1: ['offset', sint32],
  2: ['bucketCounts', packed(uint64, WIRE_VARINT)],
};
const EXPONENTIAL_HISTOGRAM_POINT: Schema<OtlpExponentialHistogramDataPoint> = {
  1: ['attributes', attributes],
  2: ['startTimeUnixNano', fixed64],
  3: ['timeUnixNano', fixed64],
  4: ['count', fixed64],
  5: ['sum', double],
  6: ['scale', sint32],
  7: ['zeroCount', fixed64],
  8: ['positive', message(() => EXPONENTIAL_BUCKETS)],
  9: ['negative', message(() => EXPONENTIAL_BUCKETS)],
  10: ['flags', uint32],
  12: ['min', double],
  13: ['max', double],
  14: ['zeroThreshold', double],
};
const VALUE_AT_QUANTILE: Schema<SummaryQuantile> = { 1: ['quantile', double], 2: ['value', double] };
const SUMMARY_POINT: Schema<OtlpSummaryDataPoint> = {
  2: ['startTimeUnixNano', fixed64],
  3: ['timeUnixNano', fixed64],
  4: ['count', fixed64],
  5: ['sum', double],
  6: ['quantileValues', repeated(message(() => VALUE_AT_QUANTILE))],
  7: ['attributes', attributes],
  8: ['flags', uint32],
};
const GAUGE: Schema<NonNullable<OtlpMetric['gauge']>> = {
  1: ['dataPoints', repeated(message(() => NUMBER_POINT))],
};
const SUM: Schema<NonNullable<OtlpMetric['sum']>> = {
  1: ['dataPoints', repeated(message(() => NUMBER_POINT))],
  2: ['aggregationTemporality', enumeration],
  3: ['isMonotonic', bool],
};
const HISTOGRAM: Schema<NonNullable<OtlpMetric['histogram']>> = {
  1: ['dataPoints', repeated(message(() => HISTOGRAM_POINT))],
  2: ['aggregationTemporality', enumeration],
};
const EXPONENTIAL_HISTOGRAM: Schema<NonNullable<OtlpMetric['exponentialHistogram']>> = {
  1: ['dataPoints', repeated(message(() => EXPONENTIAL_HISTOGRAM_POINT))],
  2: ['aggregationTemporality', enumeration],
};
const SUMMARY: Schema<NonNullable<OtlpMetric['summary']>> = {
  1: ['dataPoints', repeated(message(() => SUMMARY_POINT))],
};
const METRIC: Schema<OtlpMetric> = {
  1: ['name', string],
  2: ['description', string],
  3: ['unit', string],
  5: ['gauge', message(() => GAUGE)],
  7: ['sum', message(() => SUM)],
  9: ['histogram', message(() => HISTOGRAM)],
  10: ['exponentialHistogram', message(() => EXPONENTIAL_HISTOGRAM)],
  11: ['summary', message(() => SUMMARY)],
};
const SCOPE_METRICS: Schema<ScopeMetrics> = {
  1: ['scope', scope],
  2: ['metrics', repeated(message(() => METRIC))],
};
const RESOURCE_METRICS: Schema<ResourceMetrics> = {
  1: ['resource', resource],
  2: ['scopeMetrics', repeated(message(() => SCOPE_METRICS))],
};
const METRICS_REQUEST: Schema<OtlpMetricsRequest> = {
  1: ['resourceMetrics', repeated(message(() => RESOURCE_METRICS))],
};

// ---- logs.proto, logs_service.proto -------------------------------------------------------------

type ResourceLogs = NonNullable<OtlpLogsRequest['resourceLogs']>[number];
type ScopeLogs = NonNullable<ResourceLogs['scopeLogs']>[number];

const LOG_RECORD: Schema<OtlpLogRecord> = {
  1: ['timeUnixNano', fixed64],
  2: ['severityNumber', enumeration],
  3: ['severityText', string],
  5: ['body', message(() => ANY_VALUE)],
  6: ['attributes', attributes],
  8: ['flags', fixed32],
  9: ['traceId', hex],
  10: ['spanId', hex],
  11: ['observedTimeUnixNano', fixed64],
  12: ['eventName', string],
};
const SCOPE_LOGS: Schema<ScopeLogs> = {
  1: ['scope', scope],
  2: ['logRecords', repeated(message(() => LOG_RECORD))],
};
const RESOURCE_LOGS: Schema<ResourceLogs> = {
  1: ['resource', resource],
  2: ['scopeLogs', repeated(message(() => SCOPE_LOGS))],
};
const LOGS_REQUEST: Schema<OtlpLogsRequest> = { 1: ['resourceLogs', repeated(message(() => RESOURCE_LOGS))] };
