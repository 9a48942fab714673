import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BoundaryFleet, startBoundaryFleet } from './credentials-fleet.ts';

const MiB = 1024 * 1024;
const BODY_BYTES = 30 * MiB;

/**
 * A 30 MiB response to a node that asks for the largest `maxResponseBytes` a definition may set: the
 * worker's ceiling applies, the connection is dropped at it, and the node fails with the limit named.
 */
describe('connector response limit through the workers', () => {
  let server: Server;
  let url: string;
  let boundary: BoundaryFleet;
  let sent: Promise<{ bytes: number; finished: boolean }> | undefined;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 0x7b);
      let bytes = 0;
      let finished = false;
      sent = new Promise((resolve) => res.once('close', () => resolve({ bytes, finished })));
      res.writeHead(200, { 'content-type': 'application/json' });
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
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/huge`;
    boundary = await startBoundaryFleet(() => ({
      FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: String(MiB),
    }));
  });
  afterAll(async () => {
    await boundary?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('drops the connection at the ceiling and fails the node naming the limit', async () => {
    const submitted = await boundary.api(boundary.a.key, 'POST', '/v1/runs', {
      workflow: {
        name: 'huge',
        nodes: [
          {
            id: 'fetch',
            type: 'connector',
            retry: { attempts: 1 },
            config: { url, maxResponseBytes: 50 * MiB, responseType: 'json' },
          },
        ],
      },
      input: {},
    });
    expect(submitted.status, submitted.text).toBe(202);
    const run = await boundary.fleet.waitForRun(String(submitted.body.runId));
    expect(run.status).toBe('failed');
    const node = (run.nodes as { error: { code: string; message: string; details?: unknown } }[])[0];
    expect(node?.error.code).toBe('connector_error');
    expect(node?.error.message).toMatch(/exceeds the 1048576-byte limit/);
    const server = await sent;
    expect(server?.finished).toBe(false);
    expect(server?.bytes).toBeLessThan(BODY_BYTES / 2);
  });
});
