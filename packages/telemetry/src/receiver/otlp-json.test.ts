import { describe, expect, it } from 'vitest';
import { flattenLogs, flattenMetrics, flattenTraces } from './otlp-json.ts';
import type { OtlpLogsRequest, OtlpMetricsRequest, OtlpTracesRequest } from './otlp-model.ts';

// OTLP/JSON as the specification allows it to be written, beyond what the JS exporters send (which
// sdk-round-trip.test.ts covers).

describe('flattenTraces', () => {
  it('reads int64 strings, enum names, base64 bytes, non-finite doubles and ids in any case', () => {
    const request: OtlpTracesRequest = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-svc' } }] },
          scopeSpans: [
            {
              scope: { name: 'json' },
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  parentSpanId: '',
                  name: 'from json',
                  kind: 'SPAN_KIND_PRODUCER',
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: 1544712661000000000,
                  attributes: [
                    { key: 'int', value: { intValue: '9007199254740993' } },
                    { key: 'inf', value: { doubleValue: 'Infinity' } },
                    { key: 'bytes', value: { bytesValue: 'AAH+/w==' } },
                    // JSON.stringify writes NaN as null: the JS JSON exporter sends this for a NaN.
                    { key: 'nan', value: { doubleValue: null as unknown as number } },
                  ],
                  status: { code: 'STATUS_CODE_ERROR' },
                },
              ],
            },
          ],
        },
      ],
    };
    expect(flattenTraces(request)).toEqual([
      expect.objectContaining({
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        parentSpanId: undefined,
        kind: 'PRODUCER',
        startTimeUnixNano: 1544712660000000000n,
        endTimeUnixNano: 1544712661000000000n,
        attributes: {
          int: '9007199254740993',
          inf: Number.POSITIVE_INFINITY,
          bytes: new Uint8Array([0, 1, 254, 255]),
          nan: null,
        },
        status: { code: 'ERROR' },
        resource: { 'service.name': 'json-svc' },
      }),
    ]);
  });

  it('reads base64 ids, which older JSON exporters sent', () => {
    const traceId = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64');
    const spanId = Buffer.from('eee19b7ec3c1b174', 'hex').toString('base64');
    const [span] = flattenTraces({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId }] }] }] });
    expect([span?.traceId, span?.spanId]).toEqual(['5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174']);
  });

  it('keeps a `__proto__` attribute as data', () => {
    const [span] = flattenTraces({
      resourceSpans: [
        { scopeSpans: [{ spans: [{ attributes: [{ key: '__proto__', value: { stringValue: 'x' } }] }] }] },
      ],
    });
    expect(Object.getPrototypeOf(span?.attributes)).toBe(Object.prototype);
    expect(Object.entries(span?.attributes ?? {})).toEqual([['__proto__', 'x']]);
  });
});

describe('flattenMetrics', () => {
  it('reads temporality names and int64 strings', () => {
    const request: OtlpMetricsRequest = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'runs',
                  sum: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                    isMonotonic: true,
                    dataPoints: [{ asInt: '12', timeUnixNano: '5' }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    expect(flattenMetrics(request)).toEqual([
      expect.objectContaining({
        name: 'runs',
        type: 'sum',
        temporality: 'DELTA',
        value: 12,
        timeUnixNano: 5n,
      }),
    ]);
  });
});

describe('flattenLogs', () => {
  it('reads severity names, and an empty body object as no body', () => {
    const request: OtlpLogsRequest = {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { severityNumber: 'SEVERITY_NUMBER_WARN2', body: {} },
                { severityNumber: 17, body: { stringValue: 'failed' } },
              ],
            },
          ],
        },
      ],
    };
    expect(flattenLogs(request).map((l) => [l.severityNumber, l.body])).toEqual([
      [14, undefined],
      [17, 'failed'],
    ]);
  });
});
