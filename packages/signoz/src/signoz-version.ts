import { isObject, SignozError, type SignozHttp } from './signoz-http.ts';

/**
 * Which dashboard API a SigNoz speaks. From v0.135.0 every v1 dashboard endpoint (`GET|POST
 * /api/v1/dashboards`, `GET|PUT|DELETE /api/v1/dashboards/{id}`) answers 501 `dashboard_deprecated`
 * (SigNoz `pkg/types/dashboardtypes/v1_deprecation.go`), and `POST /api/v2/dashboards` accepts the v1
 * JSON and converts it (`impldashboard/v2_handler.go` `CreateV2`); before it, v1 is the API and v2's
 * create takes only the new body. So: the version decides when `/api/v1/version` gives a release number;
 * otherwise (a development build such as `main-1a2b3c4`, or no such endpoint) one `GET
 * /api/v1/dashboards` does: 501 means v2.
 */
export const V2_DASHBOARDS_SINCE = { major: 0, minor: 135 } as const;

export interface SignozVersion {
  major: number;
  minor: number;
  patch: number;
}

/** `v0.138.0`, `0.138.0`, `v0.135.0-cloud.5` → numbers; anything else → undefined. */
export function parseSignozVersion(raw: string): SignozVersion | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][\w.-]*)?$/.exec(raw.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function hasV2Dashboards(version: SignozVersion): boolean {
  const since = V2_DASHBOARDS_SINCE;
  return version.major > since.major || (version.major === since.major && version.minor >= since.minor);
}

export type DashboardApiVersion = 'v1' | 'v2';

export interface DashboardApiChoice {
  api: DashboardApiVersion;
  /** What `GET /api/v1/version` answered, when it answered a version. */
  version: string | undefined;
  /** How the choice was made, in words for the person running the provisioner. */
  reason: string;
}

async function readVersion(http: SignozHttp): Promise<string | undefined> {
  try {
    const data = await http.request('GET', '/api/v1/version');
    return isObject(data) && typeof data.version === 'string' && data.version !== ''
      ? data.version
      : undefined;
  } catch (error) {
    if (error instanceof SignozError && error.fatal) throw error;
    return undefined;
  }
}

export async function chooseDashboardApi(http: SignozHttp): Promise<DashboardApiChoice> {
  const raw = await readVersion(http);
  const parsed = raw === undefined ? undefined : parseSignozVersion(raw);
  const since = `v${V2_DASHBOARDS_SINCE.major}.${V2_DASHBOARDS_SINCE.minor}`;
  if (parsed) {
    return hasV2Dashboards(parsed)
      ? { api: 'v2', version: raw, reason: `SigNoz ${raw} (${since} or later)` }
      : { api: 'v1', version: raw, reason: `SigNoz ${raw} (before ${since})` };
  }
  const unknown = raw === undefined ? 'SigNoz version unknown' : `SigNoz version "${raw}"`;
  try {
    await http.request('GET', '/api/v1/dashboards');
    return { api: 'v1', version: raw, reason: `${unknown}, and GET /api/v1/dashboards answers` };
  } catch (error) {
    if (error instanceof SignozError && error.status === 501) {
      return { api: 'v2', version: raw, reason: `${unknown}, and GET /api/v1/dashboards answered 501` };
    }
    throw error;
  }
}
