import { ExportResultCode } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { OtlpReceiver } from './otlp-receiver.ts';
import {
  ENCODINGS,
  type ExporterConfig,
  exporterConfig,
  exportWith,
  receiverPerTest,
  recordLogs,
  recordMetrics,
  recordSpans,
} from './receiver-test-support.ts';

// The receiver as an HTTP server: what it answers, what it keeps, how tests wait on it. Decoding is
// covered by otlp-protobuf.test.ts, otlp-json.test.ts and, end to end through the SDK's exporters,
// sdk-round-trip.test.ts.

const receiver = receiverPerTest();

describe.each(ENCODINGS)('OtlpReceiver with $protocol, compression $compression', (encoding) => {
  const config = (signal: 'traces' | 'metrics' | 'logs', extra: Partial<ExporterConfig> = {}) =>
    exporterConfig(receiver(), encoding, signal, extra);

  it('stores nothing and fails every export while setResponse(503) is in force', async () => {
    receiver().setResponse(503);
    // A short timeout makes the exporters give up instead of retrying with a 1 s backoff.
    const fast = { timeoutMillis: 300 };
    const spanExporter = new encoding.traces(config('traces', fast));
    const logExporter = new encoding.logs(config('logs', fast));
    const metricExporter = new encoding.metrics(config('metrics', fast));
    const spans = recordSpans(2);
    const logs = recordLogs();
    const metrics = await recordMetrics();

    expect((await exportWith(spanExporter, spans)).code).toBe(ExportResultCode.FAILED);
    expect((await exportWith(logExporter, logs)).code).toBe(ExportResultCode.FAILED);
    expect((await exportWith(metricExporter, metrics)).code).toBe(ExportResultCode.FAILED);
    expect(receiver().requests).toEqual({ traces: 1, metrics: 1, logs: 1 });
    expect([receiver().spans(), receiver().logs(), receiver().metrics()]).toEqual([[], [], []]);

    receiver().setResponse(null);
    expect((await exportWith(spanExporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith(logExporter, logs)).code).toBe(ExportResultCode.SUCCESS);
    expect((await exportWith(metricExporter, metrics)).code).toBe(ExportResultCode.SUCCESS);
    expect(receiver().spans()).toHaveLength(2);
    expect(receiver().logs()).toHaveLength(1);
    expect(receiver().metrics()).toHaveLength(1);
    await Promise.all([spanExporter.shutdown(), logExporter.shutdown(), metricExporter.shutdown()]);
  });
});

describe('OtlpReceiver', () => {
  it('has an endpoint on 127.0.0.1 and answers 404, 405, 415 and 400 to what is not an OTLP export', async () => {
    expect(receiver().endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const post = (path: string, body: NonNullable<RequestInit['body']>, contentType: string) =>
      fetch(`${receiver().endpoint}${path}`, {
        method: 'POST',
        body,
        headers: { 'content-type': contentType },
      });

    expect((await post('/v1/profiles', '', 'application/json')).status).toBe(404);
    expect((await fetch(`${receiver().endpoint}/v1/traces`)).status).toBe(405);
    expect((await post('/v1/traces', 'hello', 'text/plain')).status).toBe(415);
    expect((await post('/v1/traces', 'not json', 'application/json')).status).toBe(400);
    expect(
      (await post('/v1/logs', new Uint8Array([0x0a, 0x05, 0x01]), 'application/x-protobuf')).status,
    ).toBe(400);
    const ok = await post('/v1/metrics', '{}', 'application/json; charset=utf-8');
    expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([
      200,
      'application/json',
      '{}',
    ]);

    expect(receiver().errors()).toEqual([
      expect.stringContaining('unsupported content-type "text/plain"'),
      expect.stringContaining('traces (json): cannot decode'),
      expect.stringContaining('logs (protobuf): cannot decode the request: RangeError: index out of range'),
    ]);
    expect(receiver().requests).toEqual({ traces: 2, metrics: 1, logs: 1 });
    receiver().clear();
    expect([receiver().requests, receiver().errors()]).toEqual([{ traces: 0, metrics: 0, logs: 0 }, []]);
  });

  it('answers an export in its own encoding, as a collector does', async () => {
    const protobuf = await fetch(`${receiver().endpoint}/v1/traces`, {
      method: 'POST',
      body: new Uint8Array(),
      headers: { 'content-type': 'application/x-protobuf' },
    });
    expect([
      protobuf.status,
      protobuf.headers.get('content-type'),
      (await protobuf.arrayBuffer()).byteLength,
    ]).toEqual([200, 'application/x-protobuf', 0]);
    const json = await fetch(`${receiver().endpoint}/v1/traces`, {
      method: 'POST',
      body: '{"resourceSpans":[]}',
      headers: { 'content-type': 'application/json' },
    });
    expect([json.status, json.headers.get('content-type'), await json.text()]).toEqual([
      200,
      'application/json',
      '{}',
    ]);
    expect([receiver().requests.traces, receiver().spans(), receiver().errors()]).toEqual([2, [], []]);
  });

  it('answers 415 to a content-encoding it cannot read and 400 to a body that is not what it says', async () => {
    const post = (encoding: string, body: Uint8Array) =>
      fetch(`${receiver().endpoint}/v1/traces`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': encoding },
      });
    expect((await post('br', new Uint8Array([1]))).status).toBe(415);
    expect((await post('gzip', new Uint8Array([1, 2, 3]))).status).toBe(400);
    expect(receiver().errors()).toEqual([
      'traces: unsupported content-encoding "br"',
      expect.stringContaining('traces (protobuf): cannot decode the request'),
    ]);
    expect(receiver().spans()).toEqual([]);
  });

  it('waitFor resolves with the first truthy value and times out with what it was waiting for', async () => {
    let calls = 0;
    await expect(receiver().waitFor(() => ++calls >= 3 && 'ready', { intervalMs: 1 })).resolves.toBe('ready');
    const failing = receiver().waitFor(
      () => {
        throw new Error('expected a span named "run"');
      },
      { timeoutMs: 30, intervalMs: 5, message: 'the run span' },
    );
    await expect(failing).rejects.toThrow(
      /timed out after 30 ms waiting for the run span\. Received 0 spans \[\].*Last error: expected a span named "run"/,
    );
  });

  it('listens on the port it is given', async () => {
    const probe = await OtlpReceiver.start();
    const port = Number(new URL(probe.endpoint).port);
    await probe.close();
    const fixed = await OtlpReceiver.start({ port, host: '127.0.0.1' });
    expect(fixed.endpoint).toBe(`http://127.0.0.1:${port}`);
    await fixed.close();
  });
});
