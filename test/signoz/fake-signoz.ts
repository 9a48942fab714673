import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeDashboards, type StoredDashboard, titleOf } from './fake-signoz-dashboards.ts';
import { failure, type Reply, success } from './fake-signoz-envelope.ts';

export { isV2, type StoredDashboard, titleOf } from './fake-signoz-dashboards.ts';

/**
 * A loopback HTTP server that answers the provisioning endpoints the way a given SigNoz release does,
 * keeps what it is given, and records every call:
 *
 * - `GET /api/v1/version` (no API key needed) → `{version, ee, setupCompleted}`, not wrapped;
 * - dashboards per release (fake-signoz-dashboards.ts): before v0.135 the v1 API; from v0.135 the v1
 *   endpoints answer 501 and the v2 API converts v1 JSON;
 * - `GET /api/v2/rules` (paged: `{rules, total}`, 20 per page unless `limit` says otherwise),
 *   `POST /api/v2/rules` (201), `PUT /api/v2/rules/{id}` (204), unchanged across these releases.
 *
 * A missing or wrong `SIGNOZ-API-KEY` gets SigNoz's 401 error envelope.
 */
export interface RecordedCall {
  method: string;
  path: string;
  apiKey: string | undefined;
  body: unknown;
}

interface StoredRule {
  id: string;
  rule: Record<string, unknown>;
}

export interface FakeSignozOptions {
  apiKey: string;
  /** The release whose behaviour the fake plays: `v0.134.0` (v1 dashboards) or `v0.138.0` (v2). */
  release: string;
  /** What `/api/v1/version` reports, when not the release (a development build's `main-…`); null: 404. */
  reportedVersion?: string | null;
}

export interface FakeSignoz {
  url: string;
  release: string;
  calls: RecordedCall[];
  dashboards: StoredDashboard[];
  rules: StoredRule[];
  /** The stored dashboard with this title (v1 `title` or v2 `spec.display.name`), if exactly one. */
  dashboard(title: string): StoredDashboard | undefined;
  /** A dashboard stored as v1 JSON, as a release before v0.135 stored it. */
  addV1Dashboard(data: Record<string, unknown>): StoredDashboard;
  /**
   * Plays an upgrade to `release`: from before v0.135 to v0.135 or later, stored v1 dashboards are
   * migrated to v2 (migration 103), except those titled in `leaveLegacy`.
   */
  upgrade(release: string, options?: { leaveLegacy?: string[] }): void;
  close(): Promise<void>;
}

const DEFAULT_RULES_PAGE = 20;

/** Whether `release` is v0.135 or later (the fake's own reading, independent of the provisioner's). */
export function isV2Release(release: string): boolean {
  const match = /^v?(\d+)\.(\d+)\./.exec(release);
  if (!match) throw new Error(`the fake needs a release like v0.138.0, got ${release}`);
  return Number(match[1]) > 0 || Number(match[2]) >= 135;
}

function send(res: ServerResponse, reply: Reply) {
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

function rulesRoute(method: string, url: URL, body: unknown, rules: StoredRule[]): Reply | undefined {
  const ruleId = /^\/api\/v2\/rules\/([^/]+)$/.exec(url.pathname)?.[1];
  const route = `${method} ${url.pathname}`;
  if (route === 'GET /api/v2/rules') {
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
    return success(200, { rules: page, total: rules.length, labels: [], reservedKeywords: [] });
  }
  if (route === 'POST /api/v2/rules') {
    const rule = body as Record<string, unknown>;
    if (typeof rule?.alert !== 'string')
      return failure('invalid-input', 'invalid_input', 'alert name is required');
    const stored = { id: randomUUID(), rule };
    rules.push(stored);
    return success(201, { id: stored.id, ...rule });
  }
  if (method === 'PUT' && ruleId) {
    const stored = rules.find((r) => r.id === ruleId);
    if (!stored) return failure('not-found', 'not_found', `rule ${ruleId} not found`);
    stored.rule = body as Record<string, unknown>;
    return success(204);
  }
  return undefined;
}

export async function startFakeSignoz(options: FakeSignozOptions): Promise<FakeSignoz> {
  const calls: RecordedCall[] = [];
  const rules: StoredRule[] = [];
  let release = options.release;
  let reported = options.reportedVersion === undefined ? release : options.reportedVersion;
  isV2Release(release);
  const dashboards = new FakeDashboards(() => isV2Release(release));

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const header = req.headers['signoz-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    const method = req.method ?? '';
    const body = await readBody(req);
    calls.push({ method, path: `${url.pathname}${url.search}`, apiKey, body });
    if (method === 'GET' && url.pathname === '/api/v1/version' && reported !== null) {
      // OpenAccess: answered without a key, as bare JSON.
      send(res, { status: 200, body: { version: reported, ee: 'Y', setupCompleted: true } });
      return;
    }
    if (apiKey !== options.apiKey) {
      send(res, failure('unauthenticated', 'unauthenticated', 'invalid or missing API key'));
      return;
    }
    const reply = dashboards.handle(method, url, body) ?? rulesRoute(method, url, body, rules);
    send(res, reply ?? failure('not-found', 'not_found', `no route ${method} ${url.pathname}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get release() {
      return release;
    },
    calls,
    dashboards: dashboards.stored,
    rules,
    dashboard: (title) => {
      const matches = dashboards.stored.filter((d) => titleOf(d) === title);
      return matches.length === 1 ? matches[0] : undefined;
    },
    addV1Dashboard: (data) => dashboards.addV1(data),
    upgrade: (next, upgradeOptions = {}) => {
      const crossing = !isV2Release(release) && isV2Release(next);
      release = next;
      if (reported !== null) reported = next;
      if (crossing) dashboards.upgrade((d) => (upgradeOptions.leaveLegacy ?? []).includes(titleOf(d)));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
