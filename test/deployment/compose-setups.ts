import { NODE_TYPES } from '@flowtrace/workflow';
import { COMPOSE_BASE, COMPOSE_OVERRIDES, isObj, list, type Obj, obj, readYaml } from './deployment-files.ts';

/** Our collector's service name: its DNS name on the compose network and on SigNoz's network. */
export const COLLECTOR_SERVICE = 'flowtrace-collector';
export const WORKER_SERVICES = NODE_TYPES.map((type) => `worker-${type}`);

/**
 * Compose's interpolation with a host environment `vars`: `$$`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`.
 */
function interpolate(value: string, vars: Record<string, string> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}/g,
    (match, name: string | undefined, colon: string, op: string | undefined, arg: string) => {
      if (match === '$$') return '$';
      const set = name !== undefined && vars[name] !== undefined && (colon !== ':' || vars[name] !== '');
      const current = name === undefined ? '' : (vars[name] ?? '');
      if (op === '-') return set ? current : arg;
      if (op === '+') return set ? arg : '';
      if (op === '?' && !set) throw new Error(`compose would refuse to start: ${arg}`);
      return current;
    },
  );
}

export function interpolateAll(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, vars));
  if (isObj(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, vars)]));
  }
  return value;
}

/** Enough of Compose's merge of -f files: maps merged, sequences of mounts and ports appended. */
export function mergeCompose(base: unknown, override: unknown, key = ''): unknown {
  if (Array.isArray(base) && Array.isArray(override)) {
    return ['volumes', 'ports'].includes(key) ? [...base, ...override] : override;
  }
  if (!isObj(base) || !isObj(override)) return override;
  const merged: Obj = { ...base };
  for (const [k, value] of Object.entries(override)) merged[k] = mergeCompose(base[k], value, k);
  return merged;
}

/** Host environments each compose setup is checked with (the cloud one requires its key). */
const HOST_VARS: Record<string, Record<string, string>> = {
  'docker-compose.signoz-cloud.yml': { SIGNOZ_INGESTION_KEY: 'test-key' },
};

export const composeSetups = (): [string, Obj][] => [
  [COMPOSE_BASE, interpolateAll(readYaml(COMPOSE_BASE), {}) as Obj],
  ...COMPOSE_OVERRIDES.map((override): [string, Obj] => [
    `${COMPOSE_BASE} + ${override}`,
    interpolateAll(
      mergeCompose(readYaml(COMPOSE_BASE), readYaml(override)),
      HOST_VARS[override] ?? {},
    ) as Obj,
  ]),
];

export const servicesOf = (compose: Obj) =>
  Object.entries(obj(compose.services)).map(([name, s]) => [name, obj(s)] as const);

/** Host ports of a service's `ports`, short (`[ip:]host:container[/proto]`) or long syntax. */
export function publishedPorts(service: Obj): number[] {
  return list(service.ports).flatMap((port) => {
    if (isObj(port)) return port.published === undefined ? [] : [Number(port.published)];
    const parts = String(port).split('/')[0]?.split(':') ?? [];
    if (parts.length < 2) return []; // container port only: Docker picks an ephemeral host port
    return [Number(parts.at(-2))];
  });
}

/** The environment a container gets: values interpolated, keys without a value left unset. */
export function containerEnv(service: Obj): Record<string, string> {
  const env = service.environment;
  const entries = Array.isArray(env)
    ? env.map((item) => String(item).split(/=(.*)/s).slice(0, 2) as [string, string | undefined])
    : Object.entries(obj(env)).map(([k, v]) => [k, v === null ? undefined : String(v)] as const);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Record<string, string>;
}

export const declaredEnvKeys = (service: Obj): string[] =>
  Array.isArray(service.environment)
    ? service.environment.map((item) => String(item).split('=')[0] as string)
    : Object.keys(obj(service.environment));

export const isAppService = (service: Obj) =>
  String(service.image ?? '').startsWith('flowtrace') || 'build' in service;
