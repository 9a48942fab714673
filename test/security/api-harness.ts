import { connect } from 'node:net';
import type { Sql } from '@flowtrace/db';
import { ERROR_CODES } from '@flowtrace/workflow';
import { expect } from 'vitest';

/** Rows in every table a request could write to: a rejected request must leave all of them unchanged. */
export async function rowCounts(sql: Sql, vectorSql?: Sql): Promise<Record<string, number>> {
  const [core] = await sql`
    select (select count(*) from tenants)::int as tenants, (select count(*) from api_keys)::int as api_keys,
           (select count(*) from workflows)::int as workflows, (select count(*) from runs)::int as runs,
           (select count(*) from node_runs)::int as node_runs, (select count(*) from event_logs)::int as events,
           (select count(*) from model_cost_logs)::int as costs,
           (select count(*) from agent_trace_history)::int as steps`;
  if (!vectorSql) return { ...core };
  const [vector] = await vectorSql`
    select (select count(*) from rag_collections)::int as collections,
           (select count(*) from rag_documents)::int as documents, (select count(*) from rag_chunks)::int as chunks`;
  return { ...core, ...vector };
}

/** The API's one error format, `{ error: { code, message } }`, with a catalogued code and its status. */
export function expectErrorShape(status: number, body: unknown, label = ''): void {
  expect(status, label).toBeGreaterThanOrEqual(400);
  expect(status, label).toBeLessThan(500);
  expect(body, label).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  const code = (body as { error: { code: string } }).error.code;
  expect(Object.keys(ERROR_CODES), label).toContain(code);
  expect(ERROR_CODES[code as keyof typeof ERROR_CODES], `${label} status of ${code}`).toBe(status);
  expect((body as { error: { message: string } }).error.message.length, label).toBeGreaterThan(0);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `request` as raw bytes to a listening server on loopback and reads the answer until the server
 * closes the connection (requests should carry `Connection: close`), so that malformed requests that no
 * HTTP client would send can be tried.
 */
export async function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', resolve);
    socket.on('close', () => resolve());
    socket.on('error', (error: NodeJS.ErrnoException) =>
      // The server may reset the connection after answering, while the rest of a large request is still
      // being written; the answer has been read by then.
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve() : reject(error),
    );
    socket.write(request);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd === -1 ? text : text.slice(0, headEnd);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  let body = headEnd === -1 ? '' : text.slice(headEnd + 4);
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  return { status, headers, body };
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}
