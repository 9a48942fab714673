import type { DashboardApi, ExistingDashboard } from './dashboard-api.ts';
import { idOf, isObject, type SignozHttp, unexpected } from './signoz-http.ts';
import type { DashboardApiChoice } from './signoz-version.ts';

/**
 * SigNoz before v0.135: `GET /api/v1/dashboards` → `[{id, data: {title, …}, locked, …}]`; `POST
 * /api/v1/dashboards` with the dashboard JSON → 201 `{id, data}`; `PUT /api/v1/dashboards/{id}` with the
 * same body replaces it in place (refused while the dashboard is locked).
 */
export class DashboardsV1 implements DashboardApi {
  readonly choice: DashboardApiChoice;
  readonly #http: SignozHttp;

  constructor(http: SignozHttp, choice: DashboardApiChoice) {
    this.#http = http;
    this.choice = choice;
  }

  async list(): Promise<ExistingDashboard[]> {
    const call = 'GET /api/v1/dashboards';
    const data = (await this.#http.request('GET', '/api/v1/dashboards')) ?? [];
    if (!Array.isArray(data)) throw unexpected(call, 'a list', data);
    return data.filter(isObject).flatMap((item) => {
      const id = idOf(item);
      const title = isObject(item.data) ? item.data.title : undefined;
      return id !== undefined && typeof title === 'string' ? [{ id, name: title }] : [];
    });
  }

  async create(body: Record<string, unknown>): Promise<{ id: string | undefined }> {
    return { id: idOf(await this.#http.request('POST', '/api/v1/dashboards', body)) };
  }

  async update(existing: ExistingDashboard, body: Record<string, unknown>): Promise<void> {
    await this.#http.request('PUT', `/api/v1/dashboards/${encodeURIComponent(existing.id)}`, body);
  }
}
