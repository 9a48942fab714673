import { randomUUID } from 'node:crypto';
import {
  convertV1ToV2,
  generateDashboardName,
  isDnsLabel,
  MAX_TAGS,
  SCHEMA_VERSION,
  specProblem,
  type V2Tag,
  v1Name,
} from './fake-signoz-convert.ts';
import { failure, isObj, type Obj, type Reply, success } from './fake-signoz-envelope.ts';

/**
 * The dashboard endpoints of the fake SigNoz, as each release answers them (read from SigNoz's source):
 *
 * - before v0.135 (v0.134, `impldashboard/handler.go`): the v1 API stores the v1 JSON as sent; the v2 API
 *   exists but `POST /api/v2/dashboards` takes only the v2 body.
 * - from v0.135 (`dashboardtypes/v1_deprecation.go`, `impldashboard/v2_handler.go`): every v1 dashboard
 *   endpoint answers 501 `dashboard_deprecated`; `POST /api/v2/dashboards` converts a body with `version`
 *   and no `schemaVersion` from v1; upgrading migrates stored v1 dashboards to v2 (migration 103), and one
 *   that fails to convert stays `legacy` until `POST /api/v2/dashboards/{id}/migrate`.
 *
 * `PUT /api/v2/dashboards/{id}` takes only `{schemaVersion, image, name, tags, spec}` (unknown fields
 * refused), keeps `name` immutable, and refuses a legacy dashboard (501) and a locked one (400).
 */

export interface StoredDashboard {
  id: string;
  /** The `name` column: a DNS label, immutable once set. */
  name: string;
  locked: boolean;
  /** The v1 JSON while stored as v1; `{metadata: {schemaVersion, image}, spec}` once v2. */
  data: Obj;
  tags: V2Tag[];
  createdAt: string;
  updatedAt: string;
  /** Write order, for `sort=updated_at`. */
  seq: number;
}

export const isV2 = (d: StoredDashboard) =>
  isObj(d.data.metadata) && d.data.metadata.schemaVersion === SCHEMA_VERSION;

export function titleOf(d: StoredDashboard): string {
  if (!isV2(d)) return typeof d.data.title === 'string' ? d.data.title : '';
  const spec = isObj(d.data.spec) ? d.data.spec : {};
  return isObj(spec.display) && typeof spec.display.name === 'string' ? spec.display.name : '';
}

const DOCS = 'https://signoz.io/docs/dashboards/dashboards-v2-api/';
const deprecated = (useInstead: string) =>
  failure(
    'unsupported',
    'dashboard_deprecated',
    `the v1 dashboard API is deprecated; instead, ${useInstead}. See ${DOCS}`,
  );
const V1_INSTEAD: Record<string, string> = {
  'GET list': 'list dashboards with GET /api/v2/dashboards',
  'POST list': 'create a dashboard with POST /api/v2/dashboards',
  'GET one': 'get a dashboard with GET /api/v2/dashboards/{id}',
  'PUT one':
    'update a dashboard with PUT /api/v2/dashboards/{id}, or patch it with PATCH /api/v2/dashboards/{id}',
  'DELETE one': 'delete a dashboard with DELETE /api/v2/dashboards/{id}',
  'PUT lock':
    'lock a dashboard with PUT /api/v2/dashboards/{id}/lock, or unlock it with DELETE /api/v2/dashboards/{id}/lock',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const invalid = (message: string, code = 'dashboard_invalid_input') =>
  failure('invalid-input', code, message);
const notFound = (id: string) =>
  failure('not-found', 'dashboard_not_found', `dashboard with id ${id} doesn't exist`);

/** A strict JSON decode (`DisallowUnknownFields`): the first unknown top-level field, Go's message. */
function unknownField(body: Obj, allowed: readonly string[]): Reply | undefined {
  const field = Object.keys(body).find((key) => !allowed.includes(key));
  return field === undefined ? undefined : invalid(`json: unknown field "${field}"`);
}

function tagsProblem(tags: unknown): Reply | undefined {
  if (!Array.isArray(tags) || !tags.every((t) => isObj(t) && typeof t.key === 'string')) {
    return invalid('tags must be a list of {key, value}');
  }
  if (tags.length > MAX_TAGS) return invalid(`a dashboard can have at most ${MAX_TAGS} tags`);
  return undefined;
}

export class FakeDashboards {
  readonly stored: StoredDashboard[] = [];
  #seq = 0;
  readonly #current: () => boolean;

  /** `current`: whether the fake now plays SigNoz v0.135 or later. */
  constructor(current: () => boolean) {
    this.#current = current;
  }

  #touch(d: StoredDashboard) {
    d.seq = ++this.#seq;
    d.updatedAt = new Date().toISOString();
  }

  #add(name: string, data: Obj, tags: V2Tag[]): StoredDashboard {
    const now = new Date().toISOString();
    const d = { id: randomUUID(), name, locked: false, data, tags, createdAt: now, updatedAt: now, seq: 0 };
    this.#touch(d);
    this.stored.push(d);
    return d;
  }

  /** A dashboard stored in the v1 schema, as `POST /api/v1/dashboards` stored it before v0.135 (no name). */
  addV1(data: Obj): StoredDashboard {
    return this.#add('', data, []);
  }

  /**
   * Migration 103 on upgrading to v0.135: every v1 dashboard converted to v2, except those `leaveLegacy`
   * names (a conversion that failed), which keep the v1 data and get a name backfilled from the title.
   */
  upgrade(leaveLegacy: (d: StoredDashboard) => boolean) {
    for (const d of this.stored.filter((s) => !isV2(s))) {
      if (leaveLegacy(d)) d.name ||= v1Name(d.data);
      else this.migrate(d);
    }
  }

  /** Converts a stored v1 dashboard to v2 in place, under a newly generated name (`MigrateV2`). */
  migrate(d: StoredDashboard) {
    if (isV2(d)) return;
    const converted = convertV1ToV2(d.data);
    d.name = converted.name;
    d.data = { metadata: { schemaVersion: SCHEMA_VERSION, image: converted.image }, spec: converted.spec };
    d.tags = converted.tags;
  }

  #gettable(d: StoredDashboard) {
    const metadata = isObj(d.data.metadata) ? d.data.metadata : {};
    return {
      id: d.id,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      createdBy: 'provisioner@example.com',
      updatedBy: 'provisioner@example.com',
      orgId: '00000000-0000-0000-0000-000000000001',
      locked: d.locked,
      source: 'user',
      schemaVersion: metadata.schemaVersion,
      image: metadata.image ?? '',
      name: d.name,
      tags: d.tags,
      spec: d.data.spec,
    };
  }

  #listed(d: StoredDashboard) {
    const v2 = isV2(d);
    return {
      ...this.#gettable(d),
      schemaVersion: v2 ? SCHEMA_VERSION : (d.data.version ?? ''),
      spec: { display: { name: titleOf(d), description: v2 ? undefined : (d.data.description ?? '') } },
      legacy: !v2,
    };
  }

  /** Answers a dashboard route, or undefined for any other path. */
  handle(method: string, url: URL, body: unknown): Reply | undefined {
    const v1 = /^\/api\/v1\/dashboards(?:\/([^/]+)(\/lock)?)?$/.exec(url.pathname);
    if (v1) {
      const route = `${method} ${v1[1] === undefined ? 'list' : v1[2] ? 'lock' : 'one'}`;
      if (this.#current()) return V1_INSTEAD[route] ? deprecated(V1_INSTEAD[route]) : undefined;
      return this.#v1(route, v1[1], body);
    }
    const v2 = /^\/api\/v2\/dashboards(?:\/([^/]+)(\/migrate)?)?$/.exec(url.pathname);
    if (!v2) return undefined;
    const [, id, migrate] = v2;
    if (id === undefined) {
      if (method === 'GET') return this.#listV2(url.searchParams);
      if (method === 'POST') return this.#createV2(body);
      return undefined;
    }
    if (!UUID.test(id)) return invalid(`invalid uuid: ${id}`, 'invalid_input');
    const d = this.stored.find((s) => s.id === id);
    if (migrate) {
      if (method !== 'POST') return undefined;
      if (!d) return notFound(id);
      this.migrate(d);
      this.#touch(d);
      return success(200, this.#gettable(d));
    }
    if (method === 'DELETE') {
      if (!d) return notFound(id);
      if (d.locked) return invalid('cannot delete a locked dashboard, please unlock the dashboard to delete');
      this.stored.splice(this.stored.indexOf(d), 1);
      return success(204);
    }
    if (method === 'GET' || method === 'PUT') {
      if (method === 'PUT') {
        const problem = this.#updatableProblem(body);
        if (problem) return problem;
      }
      if (!d) return notFound(id);
      if (!isV2(d)) {
        return failure(
          'unsupported',
          'dashboard_invalid_data',
          `dashboard ${id} is not in ${SCHEMA_VERSION} schema`,
        );
      }
      if (method === 'GET') return success(200, this.#gettable(d));
      return this.#updateV2(d, body as Obj);
    }
    return undefined;
  }

  #v1(route: string, id: string | undefined, body: unknown): Reply | undefined {
    const gettable = (d: StoredDashboard) => ({
      id: d.id,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      data: d.data,
      locked: d.locked,
      source: 'user',
    });
    if (route === 'GET list') return success(200, this.stored.map(gettable));
    if (route === 'POST list') {
      if (!isObj(body)) return invalid('request body must be a JSON object');
      return success(201, gettable(this.addV1(body)));
    }
    const d = this.stored.find((s) => s.id === id);
    if (id === undefined || !UUID.test(id)) return invalid(`invalid uuid: ${id}`, 'invalid_input');
    if (!d) return notFound(id);
    if (route === 'GET one') return success(200, gettable(d));
    if (route === 'PUT one') {
      if (d.locked) {
        return invalid(
          'cannot update a locked dashboard, please unlock the dashboard to update',
          'invalid_input',
        );
      }
      if (!isObj(body)) return invalid('request body must be a JSON object');
      d.data = body;
      this.#touch(d);
      return success(200, gettable(d));
    }
    if (route === 'DELETE one') {
      this.stored.splice(this.stored.indexOf(d), 1);
      return success(204);
    }
    if (route === 'PUT lock') {
      if (!isObj(body) || typeof body.lock !== 'boolean')
        return invalid('lock is missing in the request payload', 'invalid_input');
      d.locked = body.lock;
      return success(204);
    }
    return undefined;
  }

  #listV2(params: URLSearchParams): Reply {
    const limitRaw = Number(params.get('limit') ?? 0);
    const offset = Number(params.get('offset') ?? 0);
    const sort = params.get('sort') || 'updated_at';
    const order = params.get('order') || 'desc';
    if (!Number.isInteger(limitRaw) || limitRaw < 0) {
      return invalid(`invalid limit ${limitRaw} — must be a positive integer`, 'dashboard_list_invalid');
    }
    if (!Number.isInteger(offset) || offset < 0) {
      return invalid(`invalid offset ${offset} — must be a non-negative integer`, 'dashboard_list_invalid');
    }
    if (!['updated_at', 'created_at', 'name'].includes(sort)) {
      return invalid(`invalid sort "${sort}"`, 'dashboard_list_invalid');
    }
    if (!['asc', 'desc'].includes(order))
      return invalid(`invalid order "${order}"`, 'dashboard_list_invalid');
    const limit = limitRaw === 0 ? 20 : Math.min(limitRaw, 200);
    const key = (d: StoredDashboard) =>
      sort === 'name' ? d.name : sort === 'created_at' ? d.createdAt : d.seq;
    const sorted = [...this.stored].sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      const cmp = x < y ? -1 : x > y ? 1 : 0;
      return order === 'asc' ? cmp : -cmp;
    });
    return success(200, {
      dashboards: sorted.slice(offset, offset + limit).map((d) => this.#listed(d)),
      total: sorted.length,
      tags: this.stored.flatMap((d) => d.tags),
      reservedKeywords: ['name', 'description', 'created_at', 'updated_at', 'created_by', 'locked', 'source'],
    });
  }

  #createV2(body: unknown): Reply {
    if (!isObj(body)) return invalid('request body must be a JSON object');
    const fromV1 =
      this.#current() && !body.schemaVersion && typeof body.version === 'string' && body.version !== '';
    if (fromV1) {
      const converted = convertV1ToV2(body);
      const d = this.#add(
        converted.name,
        { metadata: { schemaVersion: SCHEMA_VERSION, image: converted.image }, spec: converted.spec },
        converted.tags,
      );
      return success(201, this.#gettable(d));
    }
    const problem =
      unknownField(body, ['schemaVersion', 'image', 'name', 'generateName', 'tags', 'spec']) ??
      this.#v2BodyProblem(body, body.generateName === true);
    if (problem) return problem;
    const spec = body.spec as Obj;
    const name =
      body.generateName === true
        ? generateDashboardName(String((spec.display as Obj).name))
        : String(body.name);
    const d = this.#add(
      name,
      { metadata: { schemaVersion: SCHEMA_VERSION, image: body.image ?? '' }, spec },
      body.tags as V2Tag[],
    );
    return success(201, this.#gettable(d));
  }

  #v2BodyProblem(body: Obj, generateName: boolean): Reply | undefined {
    if (body.schemaVersion !== SCHEMA_VERSION) {
      return invalid(`schemaVersion must be "${SCHEMA_VERSION}", got "${String(body.schemaVersion ?? '')}"`);
    }
    if (!generateName) {
      if (typeof body.name !== 'string' || body.name === '') return invalid('name is required');
      if (!isDnsLabel(body.name)) return invalid(`name "${body.name}" is invalid: not a DNS-1123 label`);
    }
    const tags = tagsProblem(body.tags);
    if (tags) return tags;
    const spec = specProblem(body.spec);
    return spec === undefined ? undefined : invalid(spec);
  }

  #updatableProblem(body: unknown): Reply | undefined {
    if (!isObj(body)) return invalid('request body must be a JSON object');
    return (
      unknownField(body, ['schemaVersion', 'image', 'name', 'tags', 'spec']) ??
      this.#v2BodyProblem(body, false)
    );
  }

  #updateV2(d: StoredDashboard, body: Obj): Reply {
    if (d.locked) {
      return invalid(
        'cannot update a locked dashboard, please unlock the dashboard to update',
        'invalid_input',
      );
    }
    if (body.name !== d.name) {
      return invalid(
        `name is immutable; cannot change from "${d.name}" to "${String(body.name)}"`,
        'dashboard_immutable',
      );
    }
    d.data = { metadata: { schemaVersion: SCHEMA_VERSION, image: body.image ?? '' }, spec: body.spec };
    d.tags = body.tags as V2Tag[];
    this.#touch(d);
    return success(200, this.#gettable(d));
  }
}
