import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { client, target, useGuardedHttpHarness } from './guarded-http-test-harness.ts';

useGuardedHttpHarness();

describe('GuardedHttpClient: limits and failures', () => {
  it('aborts a streamed body past the size limit with a permanent error', async () => {
    target.on('GET', '/big', { streamBytes: 3 * 1024 * 1024 });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/big`, maxResponseBytes: 1024 * 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as PermanentNodeError).code).toBe('connector_error');
    expect((error as Error).message).toMatch(/exceeds the 1048576-byte limit/);
  });

  it('refuses a declared content-length past the limit before reading', async () => {
    target.on('GET', '/declared', { body: 'x'.repeat(5000) });
    const http = client({ allowedHosts: ['127.0.0.1'], maxResponseBytes: 1000 });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/declared` })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeds the 1000-byte limit/);
  });

  it('counts decompressed bytes and decodes gzip', async () => {
    target.on('GET', '/gz', {
      headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      body: gzipSync(Buffer.from('hello '.repeat(10))),
    });
    target.on('GET', '/bomb', {
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(2 * 1024 * 1024, 'a')),
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const ok = await http.request({ method: 'GET', url: `${target.url}/gz` });
    expect(String(ok.body)).toBe('hello '.repeat(10));
    const error = await http
      .request({ method: 'GET', url: `${target.url}/bomb`, maxResponseBytes: 100_000 })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/exceeds the 100000-byte limit/);
  });

  it('decodes deflate, br and chained encodings, error responses too, and says the body is decoded', async () => {
    const text = Buffer.from('{"ok":true}');
    target.on('GET', '/deflate', { headers: { 'content-encoding': 'deflate' }, body: deflateSync(text) });
    target.on('GET', '/br', { headers: { 'content-encoding': 'br' }, body: brotliCompressSync(text) });
    // Applied in order: gzip first, then br; the client undoes br, then gzip.
    target.on('GET', '/chain', {
      headers: { 'content-encoding': 'gzip, br' },
      body: brotliCompressSync(gzipSync(text)),
    });
    target.on('GET', '/fail', {
      status: 500,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: gzipSync(Buffer.from('{"error":"backend down"}')),
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    for (const path of ['/deflate', '/br', '/chain']) {
      const response = await http.request({ method: 'GET', url: `${target.url}${path}` });
      expect(String(response.body), path).toBe('{"ok":true}');
      expect(response.headers['content-encoding'], path).toBeUndefined();
      expect(response.headers['content-length'], path).toBeUndefined();
    }
    const failed = await http.request({ method: 'GET', url: `${target.url}/fail` });
    expect(failed.status).toBe(500);
    expect(String(failed.body)).toBe('{"error":"backend down"}');
  });

  it('stops a chained decompression bomb at the limit', async () => {
    // 8 MiB of zeros, gzipped twice: a few hundred bytes on the wire.
    target.on('GET', '/double-bomb', {
      headers: { 'content-encoding': 'gzip, gzip' },
      body: gzipSync(gzipSync(Buffer.alloc(8 * 1024 * 1024))),
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/double-bomb`, maxResponseBytes: 64 * 1024 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toMatch(/exceeds the 65536-byte limit/);
  });

  it('times out a slow response with a transient error', async () => {
    // The target never answers: only the client's own timeout can end the request.
    target.on('GET', '/silent', () => new Promise<never>(() => {}));
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/silent`, timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as Error).message).toMatch(/no complete response within 200 ms/);
  });

  it('times out a body that trickles in', async () => {
    target.on('GET', '/trickle', { streamBytes: 10 * 64 * 1024, chunkDelayMs: 100 });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/trickle`, timeoutMs: 250 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
  });

  it("rethrows the caller's abort reason", async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    // Aborted once the request has arrived; the target never answers, so only the abort can end it.
    target.on('GET', '/silent', () => {
      controller.abort(reason);
      return new Promise<never>(() => {});
    });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http
      .request({ method: 'GET', url: `${target.url}/silent`, signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  it('reports a dropped connection as transient', async () => {
    target.on('GET', '/drop', { destroySocket: true });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const error = await http.request({ method: 'GET', url: `${target.url}/drop` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientNodeError);
    expect((error as TransientNodeError).code).toBe('connector_error');
  });

  it('refuses headers the transport owns and header injection', async () => {
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const cases: Record<string, string>[] = [
      { Host: 'internal' },
      { traceparent: 'x' },
      { 'x-a': 'b\r\nx-injected: 1' },
    ];
    for (const headers of cases) {
      const error = await http
        .request({ method: 'GET', url: `${target.url}/`, headers })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentNodeError);
    }
    expect(target.requests).toHaveLength(0);
  });
});
