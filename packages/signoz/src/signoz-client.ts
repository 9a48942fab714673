import type { DashboardApi } from './dashboard-api.ts';
import { DashboardsV1 } from './dashboards-v1.ts';
import { DashboardsV2 } from './dashboards-v2.ts';
import { idOf, isObject, type Json, SignozHttp, type SignozHttpDeps, unexpected } from './signoz-http.ts';
import { chooseDashboardApi } from './signoz-version.ts';

export { SignozError, type SignozErrorCode } from './signoz-http.ts';

/**
 * The few SigNoz API calls provisioning needs:
 *
 * - dashboards through the API this SigNoz speaks (signoz-version.ts): v1 before v0.135
 *   (dashboards-v1.ts), v2 from it (dashboards-v2.ts); the body is always the file's v1 JSON;
 * - alert rules: `GET /api/v2/rules` → `{status, data: {rules: [{id, alert, …}], total}}` (paged with
 *   `limit`/`offset`; some versions answer a plain array); `POST /api/v2/rules` → 201 `{status, data: {id}}`;
 *   `PUT /api/v2/rules/{id}` → 204.
 */

export interface SignozItem {
  id: string;
  name: string;
}

/** What provisioning needs from SigNoz; tests may supply their own. */
export interface SignozApi {
  /** The dashboard API of this SigNoz, decided on the first call. */
  dashboards(): Promise<DashboardApi>;
  listRules(): Promise<SignozItem[]>;
  createRule(body: unknown): Promise<{ id: string | undefined }>;
  updateRule(id: string, body: unknown): Promise<void>;
}

export interface SignozClientOptions {
  /** Base URL of SigNoz (the UI's origin, e.g. `http://localhost:8080`), without `/api`. */
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  /** Page size for `GET /api/v2/rules` (SigNoz clamps it to 5000 and defaults to 20). */
  rulesPageSize?: number;
}

export type SignozClientDeps = SignozHttpDeps;

function rulesOf(data: unknown, call: string): SignozItem[] {
  if (!Array.isArray(data)) throw unexpected(call, 'a list', data);
  return data.filter(isObject).flatMap((item: Json) => {
    const id = idOf(item);
    return id !== undefined && typeof item.alert === 'string' ? [{ id, name: item.alert }] : [];
  });
}

export class SignozClient implements SignozApi {
  readonly #http: SignozHttp;
  readonly #rulesPageSize: number;
  #dashboards: Promise<DashboardApi> | undefined;

  constructor(options: SignozClientOptions, deps: SignozClientDeps = {}) {
    this.#http = new SignozHttp(options, deps);
    this.#rulesPageSize = options.rulesPageSize ?? 500;
  }

  dashboards(): Promise<DashboardApi> {
    this.#dashboards ??= chooseDashboardApi(this.#http).then((choice) =>
      choice.api === 'v2' ? new DashboardsV2(this.#http, choice) : new DashboardsV1(this.#http, choice),
    );
    // A failed choice (SigNoz unreachable) is not remembered: the next call asks again.
    this.#dashboards.catch(() => {
      this.#dashboards = undefined;
    });
    return this.#dashboards;
  }

  async listRules(): Promise<SignozItem[]> {
    const rules: SignozItem[] = [];
    for (let offset = 0; ; ) {
      const path = `/api/v2/rules?limit=${this.#rulesPageSize}&offset=${offset}`;
      const data = await this.#http.request('GET', path);
      // Older servers answer every rule as a plain list and ignore limit/offset.
      if (Array.isArray(data) || data === undefined || data === null) {
        return rulesOf(data ?? [], `GET ${path}`);
      }
      if (!isObject(data) || !Array.isArray(data.rules)) {
        throw unexpected(`GET ${path}`, '{rules: [...]}', data);
      }
      rules.push(...rulesOf(data.rules, `GET ${path}`));
      offset += data.rules.length;
      if (typeof data.total !== 'number' || data.rules.length === 0 || offset >= data.total) return rules;
    }
  }

  async createRule(body: unknown): Promise<{ id: string | undefined }> {
    return { id: idOf(await this.#http.request('POST', '/api/v2/rules', body)) };
  }

  async updateRule(id: string, body: unknown): Promise<void> {
    await this.#http.request('PUT', `/api/v2/rules/${encodeURIComponent(id)}`, body);
  }
}
