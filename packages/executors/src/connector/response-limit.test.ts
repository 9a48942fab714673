import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { PermanentNodeError } from '@flowtrace/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedHttpClient } from './guarded-http-client.ts';

const MiB = 1024 * 1024;
const BODY_BYTES = 30 * MiB;

/**
 * A server that streams 30 MiB (honouring backpressure) and reports, when the connection closes, how
 * many bytes it had handed to the socket: what the client read, plus what the kernel buffers held.
 */
let server: Server;
let base: string;
const written = new Map<string, Promise<{ bytes: number; finished: boolean }>>();
const gzipBomb = gzipSync(Buffer.alloc(BODY_BYTES));

beforeAll(async () => {
  server = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    if (req.url?.startsWith('/gzip')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipBomb);
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let bytes = 0;
    let finished = false;
    written.set(id, new Promise((resolve) => res.once('close', () => resolve({ bytes, finished }))));
    res.writeHead(200, { 'content-type': 'text/plain' });
    const pump = (): void => {
      while (bytes < BODY_BYTES) {
        bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      finished = true;
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function refusal(request: Promise<unknown>): Promise<PermanentNodeError> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PermanentNodeError);
  return error as PermanentNodeError;
}

describe('response size limit', () => {
  it('stops reading a 30 MiB body at the limit instead of buffering it first', async () => {
    const client = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'] });
    try {
      const error = await refusal(
        client.request({ method: 'GET', url: `${base}/big?id=stream`, maxResponseBytes: MiB }),
      );
      expect(error).toMatchObject({ code: 'connector_error', details: { maxResponseBytes: MiB } });
      expect(error.message).toMatch(/exceeds the 1048576-byte limit .*the rest was not read/);
      const server = await written.get('stream');
      // The server never got to send the whole body: the client dropped the connection at the limit.
      expect(server?.finished).toBe(false);
      expect(server?.bytes).toBeLessThan(BODY_BYTES / 2);
    } finally {
      await client.close();
    }
  });

  it('counts decompressed bytes, so a small gzip body cannot expand past the limit', async () => {
    const client = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'] });
    try {
      expect(gzipBomb.length).toBeLessThan(MiB);
      const error = await refusal(
        client.request({ method: 'GET', url: `${base}/gzip`, maxResponseBytes: MiB }),
      );
      expect(error.details).toEqual({ maxResponseBytes: MiB });
    } finally {
      await client.close();
    }
  });

  it("lowers a request's larger limit to the worker's ceiling", async () => {
    const client = new GuardedHttpClient({ allowedHosts: ['127.0.0.1'], maxResponseBytes: 256 * 1024 });
    try {
      const error = await refusal(
        client.request({ method: 'GET', url: `${base}/big?id=ceiling`, maxResponseBytes: 40 * MiB }),
      );
      expect(error.details).toEqual({ maxResponseBytes: 256 * 1024 });
      expect((await written.get('ceiling'))?.finished).toBe(false);
    } finally {
      await client.close();
    }
  });
});
