import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server that answers the provisioning endpoints the way SigNoz does, keeps the dashboards
 * and rules it is given, and records every call:
 * `GET|POST /api/v1/dashboards`, `PUT /api/v1/dashboards/{id}` (bodies wrapped as `{status, data}`),
 * `GET /api/v2/rules` (paged: `{rules, total}`, 20 per page unless `limit` says otherwise),
 * `POST /api/v2/rules` (201), `PUT /api/v2/rules/{id}` (204). A missing or wrong `SIGNOZ-API-KEY` gets
 * SigNoz's 401 error envelope.
 */
export interface RecordedCall {
  method: string;
  path: string;
  apiKey: string | undefined;
  body: unknown;
}

interface StoredDashboard {
  id: string;
  data: Record<string, unknown>;
}
interface StoredRule {
  id: string;
  rule: Record<string, unknown>;
}

export interface FakeSignoz {
  url: string;
  calls: RecordedCall[];
  dashboards: StoredDashboard[];
  rules: StoredRule[];
  close(): Promise<void>;
}

const DEFAULT_RULES_PAGE = 20;

function send(res: ServerResponse, status: number, body?: unknown) {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const success = (data: unknown) => ({ status: 'success', data });
const failure = (code: string, message: string) => ({ status: 'error', error: { code, message } });

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

export async function startFakeSignoz(options: { apiKey: string }): Promise<FakeSignoz> {
  const calls: RecordedCall[] = [];
  const dashboards: StoredDashboard[] = [];
  const rules: StoredRule[] = [];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const header = req.headers['signoz-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    const body = await readBody(req);
    calls.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, apiKey, body });
    if (apiKey !== options.apiKey) {
      send(res, 401, failure('unauthenticated', 'invalid or missing API key'));
      return;
    }
    const route = `${req.method} ${url.pathname}`;
    const dashboardId = /^\/api\/v1\/dashboards\/([^/]+)$/.exec(url.pathname)?.[1];
    const ruleId = /^\/api\/v2\/rules\/([^/]+)$/.exec(url.pathname)?.[1];

    if (route === 'GET /api/v1/dashboards') {
      send(res, 200, success(dashboards.map((d) => ({ id: d.id, locked: false, data: d.data }))));
    } else if (route === 'POST /api/v1/dashboards') {
      const stored = { id: randomUUID(), data: body as Record<string, unknown> };
      dashboards.push(stored);
      send(res, 201, success({ id: stored.id, data: stored.data }));
    } else if (req.method === 'PUT' && dashboardId) {
      const stored = dashboards.find((d) => d.id === dashboardId);
      if (!stored) {
        send(res, 404, failure('not_found', `dashboard ${dashboardId} not found`));
        return;
      }
      stored.data = body as Record<string, unknown>;
      send(res, 200, success({ id: stored.id, data: stored.data }));
    } else if (route === 'GET /api/v2/rules') {
      const limit = Number(url.searchParams.get('limit') ?? DEFAULT_RULES_PAGE);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const page = rules.slice(offset, offset + limit).map((r) => ({
        id: r.id,
        state: 'inactive',
        alert: r.rule.alert,
        alertType: r.rule.alertType,
        ruleType: r.rule.ruleType,
        disabled: false,
        labels: r.rule.labels,
      }));
      send(res, 200, success({ rules: page, total: rules.length, labels: [], reservedKeywords: [] }));
    } else if (route === 'POST /api/v2/rules') {
      const rule = body as Record<string, unknown>;
      if (typeof rule?.alert !== 'string') {
        send(res, 400, failure('invalid_input', 'alert name is required'));
        return;
      }
      const stored = { id: randomUUID(), rule };
      rules.push(stored);
      send(res, 201, success({ id: stored.id, ...rule }));
    } else if (req.method === 'PUT' && ruleId) {
      const stored = rules.find((r) => r.id === ruleId);
      if (!stored) {
        send(res, 404, failure('not_found', `rule ${ruleId} not found`));
        return;
      }
      stored.rule = body as Record<string, unknown>;
      send(res, 204);
    } else {
      send(res, 404, failure('not_found', `no route ${route}`));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    dashboards,
    rules,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
