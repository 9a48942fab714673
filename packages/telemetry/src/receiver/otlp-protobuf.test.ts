import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { flattenMetrics, flattenTraces } from './otlp-json.ts';
import { decodeLogsRequest, decodeMetricsRequest, decodeTracesRequest } from './otlp-protobuf.ts';
import type { ReceivedMetric, ReceivedSpan } from './received-types.ts';

// Requests built field by field, for what the SDK's exporters never send but a protobuf parser must
// accept (unknown fields, unpacked repeated scalars) and for values they rarely send (negative int64s
// and offsets, summaries). The SDK's own requests are covered by sdk-round-trip.test.ts.

/** Writes one field (or, for `raw`, bare values) into a protobufjs writer. */
type Part = (w: protobuf.Writer) => void;

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const key = (field: number, wire: number) => ((field << 3) | wire) >>> 0;

const message =
  (field: number, ...parts: Part[]): Part =>
  (w) => {
    w.uint32(key(field, LEN)).fork();
    for (const part of parts) part(w);
    w.ldelim();
  };
const str: (field: number, text: string) => Part = (field, text) => (w) =>
  w.uint32(key(field, LEN)).string(text);
const bytes: (field: number, value: Uint8Array) => Part = (field, value) => (w) =>
  w.uint32(key(field, LEN)).bytes(value);
const id = (field: number, hex: string): Part => bytes(field, Buffer.from(hex, 'hex'));
/** int64 (two's complement, so -1 takes ten bytes), enums, bools. */
const int64: (field: number, value: number | string) => Part = (field, value) => (w) =>
  w.uint32(key(field, VARINT)).int64(value);
const sint32: (field: number, value: number) => Part = (field, value) => (w) =>
  w.uint32(key(field, VARINT)).sint32(value);
const fixed64: (field: number, value: bigint) => Part = (field, value) => (w) =>
  w.uint32(key(field, I64)).fixed64(value.toString());
const fixed32: (field: number, value: number) => Part = (field, value) => (w) =>
  w.uint32(key(field, I32)).fixed32(value);
const double: (field: number, value: number) => Part = (field, value) => (w) =>
  w.uint32(key(field, I64)).double(value);
/** A packed run of uint64 varints, as one length-delimited field. */
const packedUint64 = (field: number, values: number[]): Part =>
  message(field, (w) => {
    for (const value of values) w.uint64(value);
  });

function encode(...parts: Part[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const part of parts) part(w);
  return w.finish();
}

const keyValue = (name: string, ...value: Part[]): Part => message(9, str(1, name), message(2, ...value));

describe('decodeTracesRequest', () => {
  it('skips unknown fields of every wire type and reads negative int64s, kvlists, bytes and empty values', () => {
    const span = message(
      2,
      id(1, '5b8efff798038103d269b633813fc60c'),
      id(2, 'eee19b7ec3c1b174'),
      bytes(4, new Uint8Array()), // an empty parent id means a root span
      str(5, 'raw'),
      int64(6, 3),
      fixed64(7, 1_544_712_660_000_000_000n),
      fixed64(8, 1_544_712_661_000_000_001n),
      int64(900, 5),
      fixed64(901, 7n),
      str(902, 'ignored'),
      fixed32(903, 0x04030201),
      keyValue('negative', int64(3, -1)),
      keyValue('list', message(6, message(1, str(1, 'inner'), message(2, int64(2, 1))))),
      keyValue('bytes', bytes(7, new Uint8Array([0, 255]))),
      keyValue('empty'),
      message(15, str(2, 'bad'), int64(3, 2)),
      fixed32(16, 0x0301),
    );
    const scopeSpans = message(2, message(1, str(1, 'hand'), str(2, '0.1')), span);
    const resource = message(1, message(1, str(1, 'service.name'), message(2, str(1, 'svc'))));
    const body = encode(int64(77, 1), message(1, resource, scopeSpans));

    const spans = flattenTraces(decodeTracesRequest(body));
    expect(spans).toEqual([
      {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        name: 'raw',
        kind: 'CLIENT',
        startTimeUnixNano: 1_544_712_660_000_000_000n,
        endTimeUnixNano: 1_544_712_661_000_000_001n,
        attributes: { negative: -1, list: { inner: true }, bytes: new Uint8Array([0, 255]), empty: null },
        status: { code: 'ERROR', message: 'bad' },
        events: [],
        links: [],
        resource: { 'service.name': 'svc' },
        scope: { name: 'hand', version: '0.1' },
        flags: 0x301,
      } satisfies ReceivedSpan,
    ]);
    // A stored byte attribute is a copy: it does not keep the whole request body alive.
    const stored = spans[0]?.attributes.bytes;
    expect(stored instanceof Uint8Array && stored.buffer.byteLength).toBe(2);
  });

  it('reads int64 attributes beyond 2^53 exactly, as decimal strings', () => {
    const span = message(
      2,
      id(1, '5b8efff798038103d269b633813fc60c'),
      keyValue('big', int64(3, '-9007199254740993')),
    );
    const [received] = flattenTraces(decodeTracesRequest(encode(message(1, message(2, span)))));
    expect(received?.attributes).toEqual({ big: '-9007199254740993' });
  });

  it('throws on a truncated message', () => {
    expect(() => decodeTracesRequest(new Uint8Array([0x0a, 0x05, 0x01]))).toThrow(RangeError);
    expect(() => decodeLogsRequest(new Uint8Array([0x0a, 0x05, 0x01]))).toThrow(RangeError);
  });
});

describe('decodeMetricsRequest', () => {
  it('reads summaries, unpacked repeated scalars and negative exponential scales and offsets', () => {
    const times = [fixed64(2, 1n), fixed64(3, 2n)];
    const summaryPoint = message(
      1,
      ...times,
      fixed64(4, 10n),
      double(5, 12.5),
      message(6, double(1, 0.5), double(2, 1.25)),
      message(6, double(1, 0.99), double(2, 4)),
    );
    const histogramPoint = message(
      1,
      ...times,
      fixed64(4, 3n),
      fixed64(6, 1n), // bucket_counts and explicit_bounds unpacked, one element per field
      fixed64(6, 2n),
      double(7, 2.5),
    );
    const exponentialPoint = message(
      1,
      ...times,
      fixed64(4, 3n),
      sint32(6, -2),
      message(8, sint32(1, -3), packedUint64(2, [1, 300])),
    );
    const metrics = [
      message(2, str(1, 'latency'), str(3, 'ms'), message(11, summaryPoint)),
      message(2, str(1, 'hist'), message(9, histogramPoint, int64(2, 1))),
      message(2, str(1, 'exp'), message(10, exponentialPoint)),
    ];
    const body = encode(message(1, message(2, message(1, str(1, 'hand')), ...metrics)));

    const base = { description: '', attributes: {}, startTimeUnixNano: 1n, timeUnixNano: 2n, resource: {} };
    expect(flattenMetrics(decodeMetricsRequest(body))).toEqual([
      {
        ...base,
        name: 'latency',
        unit: 'ms',
        type: 'summary',
        count: 10,
        sum: 12.5,
        quantileValues: [
          { quantile: 0.5, value: 1.25 },
          { quantile: 0.99, value: 4 },
        ],
        scope: { name: 'hand' },
      },
      {
        ...base,
        name: 'hist',
        unit: '',
        type: 'histogram',
        temporality: 'DELTA',
        count: 3,
        bucketCounts: [1, 2],
        explicitBounds: [2.5],
        scope: { name: 'hand' },
      },
      {
        ...base,
        name: 'exp',
        unit: '',
        type: 'exponentialHistogram',
        temporality: 'UNSPECIFIED',
        count: 3,
        scale: -2,
        zeroCount: 0,
        positive: { offset: -3, bucketCounts: [1, 300] },
        negative: { offset: 0, bucketCounts: [] },
        scope: { name: 'hand' },
      },
    ] satisfies ReceivedMetric[]);
  });
});
