import type { DashboardApi, ExistingDashboard } from './dashboard-api.ts';
import { idOf, isObject, type Json, SignozError, type SignozHttp, unexpected } from './signoz-http.ts';
import type { DashboardApiChoice } from './signoz-version.ts';

/**
 * SigNoz v0.135 and later (`pkg/modules/dashboard/impldashboard/v2_handler.go`):
 *
 * - `GET /api/v2/dashboards?limit&offset&sort&order` → `{dashboards: [{id, name, spec: {display: {name}},
 *   legacy, …}], total}`; `name` is an immutable DNS label, the title is `spec.display.name`, and
 *   `legacy` marks a dashboard still stored as v1 (its upgrade migration failed).
 * - `POST /api/v2/dashboards` with a body that has `version` and no `schemaVersion` is v1 JSON: SigNoz
 *   converts it (tags `a:b` → `{key, value}`, widgets → Perses panels) and answers 201 with the v2
 *   dashboard (`schemaVersion`, `name`, `tags`, `spec`).
 * - `PUT /api/v2/dashboards/{id}` takes only the v2 body `{schemaVersion, image, name, tags, spec}`
 *   (unknown fields refused), with the dashboard's own `name`.
 * - `POST /api/v2/dashboards/{id}/migrate` converts a legacy one in place; `DELETE` → 204.
 *
 * Updating in place therefore goes through SigNoz's own converter rather than a copy of it: the file is
 * created once more as a temporary copy (titled `<title> · provisioning copy`), its converted `spec` and
 * `tags` are put on the existing dashboard (same id, so links and pins survive), and the copy is deleted.
 * A copy left behind by an interrupted run is deleted by the next one.
 */

/** `dashboardtypes.MaxListLimit`: larger limits are clamped to it. */
const PAGE_SIZE = 200;
/** `dashboardtypes.MaxDisplayNameLen`: SigNoz clips longer titles. */
const MAX_TITLE_LENGTH = 128;
export const COPY_SUFFIX = ' · provisioning copy';

/** The title of the temporary copy for `title`, short enough that SigNoz keeps it whole. */
export function copyTitle(title: string): string {
  const room = MAX_TITLE_LENGTH - [...COPY_SUFFIX].length;
  const chars = [...title];
  return (chars.length > room ? chars.slice(0, room).join('').trimEnd() : title) + COPY_SUFFIX;
}

const path = (id: string, rest = '') => `/api/v2/dashboards/${encodeURIComponent(id)}${rest}`;

function slugOf(data: unknown, call: string): string {
  if (isObject(data) && typeof data.name === 'string' && data.name !== '') return data.name;
  throw unexpected(call, 'a v2 dashboard with its name', data);
}

/** The `PUT /api/v2/dashboards/{id}` body from the converted copy, under the existing dashboard's name. */
function updatableFrom(copy: unknown, slug: string, title: string): Json {
  if (!isObject(copy) || typeof copy.schemaVersion !== 'string' || !isObject(copy.spec)) {
    throw unexpected('POST /api/v2/dashboards', 'a v2 dashboard {schemaVersion, name, tags, spec}', copy);
  }
  const display = isObject(copy.spec.display) ? copy.spec.display : {};
  return {
    schemaVersion: copy.schemaVersion,
    image: typeof copy.image === 'string' ? copy.image : '',
    name: slug,
    tags: Array.isArray(copy.tags)
      ? copy.tags.filter(isObject).map((tag) => ({ key: tag.key, value: tag.value }))
      : [],
    spec: { ...copy.spec, display: { ...display, name: title } },
  };
}

export class DashboardsV2 implements DashboardApi {
  readonly choice: DashboardApiChoice;
  readonly #http: SignozHttp;
  /** What the last `list()` saw, to find copies an interrupted run left behind. */
  #listed: ExistingDashboard[] = [];

  constructor(http: SignozHttp, choice: DashboardApiChoice) {
    this.#http = http;
    this.choice = choice;
  }

  async list(): Promise<ExistingDashboard[]> {
    const found: ExistingDashboard[] = [];
    // Sorted by name, which no update changes, so that the pages neither skip nor repeat.
    for (let offset = 0; ; ) {
      const call = `/api/v2/dashboards?limit=${PAGE_SIZE}&offset=${offset}&sort=name&order=asc`;
      const data = await this.#http.request('GET', call);
      if (!isObject(data) || !Array.isArray(data.dashboards)) {
        throw unexpected(`GET ${call}`, '{dashboards: [...], total}', data);
      }
      for (const item of data.dashboards.filter(isObject)) {
        const id = idOf(item);
        const display = isObject(item.spec) && isObject(item.spec.display) ? item.spec.display : {};
        if (id === undefined || typeof display.name !== 'string') continue;
        found.push({
          id,
          name: display.name,
          slug: typeof item.name === 'string' && item.name !== '' ? item.name : undefined,
          legacy: item.legacy === true,
        });
      }
      offset += data.dashboards.length;
      if (data.dashboards.length === 0 || typeof data.total !== 'number' || offset >= data.total) break;
    }
    this.#listed = found;
    return found;
  }

  async create(body: Record<string, unknown>): Promise<{ id: string | undefined }> {
    return { id: idOf(await this.#http.request('POST', '/api/v2/dashboards', body)) };
  }

  async update(existing: ExistingDashboard, body: Record<string, unknown>): Promise<void> {
    const title = String(body.title);
    const slug = await this.#updatableSlug(existing);

    const copyName = copyTitle(title);
    for (const leftover of this.#listed.filter((d) => d.name === copyName)) {
      await this.#http.request('DELETE', path(leftover.id));
    }
    this.#listed = this.#listed.filter((d) => d.name !== copyName);

    const copy = await this.#http.request('POST', '/api/v2/dashboards', { ...body, title: copyName });
    const copyId = idOf(copy);
    if (copyId === undefined) throw unexpected('POST /api/v2/dashboards', 'the created dashboard', copy);

    let failure: unknown;
    try {
      await this.#http.request('PUT', path(existing.id), updatableFrom(copy, slug, title));
    } catch (error) {
      failure = error;
    }
    try {
      await this.#http.request('DELETE', path(copyId));
    } catch (error) {
      if (failure !== undefined || (error instanceof SignozError && error.fatal)) throw failure ?? error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new SignozError(
        'SIGNOZ_REQUEST_FAILED',
        `updated, but its temporary copy ${copyId} ("${copyName}") could not be deleted (${reason}); ` +
          'the next run deletes it, or delete it in SigNoz',
        error instanceof SignozError ? error.status : undefined,
      );
    }
    if (failure !== undefined) throw failure;
  }

  /** The name a PUT must repeat; a legacy dashboard is migrated to v2 first, as SigNoz's UI offers. */
  async #updatableSlug(existing: ExistingDashboard): Promise<string> {
    if (existing.legacy) {
      const call = `POST ${path(existing.id, '/migrate')}`;
      return slugOf(await this.#http.request('POST', path(existing.id, '/migrate')), call);
    }
    if (existing.slug !== undefined) return existing.slug;
    return slugOf(await this.#http.request('GET', path(existing.id)), `GET ${path(existing.id)}`);
  }
}
