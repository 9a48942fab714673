import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEALTH_PATHS } from '@flowtrace/api/health';
import { EXECUTORS_ENV_KEYS, INGESTION_ENV_KEYS } from '@flowtrace/executors/config';
import { NODE_TYPES } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_ENV_KEYS, loadApiConfig } from '../../apps/api/src/config.ts';
import { loadWorkerConfig, WORKER_ENV_KEYS } from '../../apps/worker/src/config.ts';

/**
 * The deployment files (Dockerfile, docker-compose*.yml, otel-collector-config*.yaml) checked by parsing
 * them: no Docker engine or collector binary is needed. What Docker or the collector would only report at
 * start (a missing file, an unknown component, a variable no process reads) fails here instead.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
// Compose and the collector both honour YAML merge keys (`<<: *anchor`).
const readYaml = (path: string): Obj => parse(read(path), { merge: true }) as Obj;

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const obj = (value: unknown): Obj => (isObj(value) ? value : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const strings = (value: unknown): string[] => list(value).map(String);

// ---------------------------------------------------------------------------------------------------
// OpenTelemetry Collector

const COLLECTOR_BASE = 'otel-collector-config.yaml';
const COLLECTOR_OVERLAYS = ['otel-collector-config.signoz.yaml', 'otel-collector-config.signoz-cloud.yaml'];
/** Names the collector still loads with a deprecation warning (or no longer loads), by section. */
const RENAMED: Record<string, Record<string, string>> = {
  exporters: { otlp: 'otlp_grpc', otlphttp: 'otlp_http', logging: 'debug', loadbalancing: 'load_balancing' },
  processors: { resourcedetection: 'resource_detection' },
};
/**
 * Old names that may still appear in prose only next to their new name: components renamed in contrib
 * (`loadbalancing` in 0.154, `otlphttp` and `resourcedetection` earlier) and the memory limiter's metrics
 * (renamed in 0.155; the old ones are no longer emitted).
 */
const RENAMED_IN_PROSE: Record<string, string> = {
  loadbalancing: 'load_balancing',
  otlphttp: 'otlp_http',
  resourcedetection: 'resource_detection',
  otelcol_processor_refused_: 'otelcol_processor_memory_limiter_refused_',
  otelcol_processor_accepted_: 'otelcol_processor_memory_limiter_accepted_',
};

/** How the collector merges several --config files: maps recursively, anything else (lists) replaced. */
function mergeConfig(base: unknown, overlay: unknown): unknown {
  if (!isObj(base) || !isObj(overlay)) return overlay;
  const merged: Obj = { ...base };
  for (const [key, value] of Object.entries(overlay)) merged[key] = mergeConfig(base[key], value);
  return merged;
}

const collectorConfigs = (): [string, Obj][] => [
  [COLLECTOR_BASE, readYaml(COLLECTOR_BASE)],
  ...COLLECTOR_OVERLAYS.map((overlay): [string, Obj] => [
    `${COLLECTOR_BASE} + ${overlay}`,
    mergeConfig(readYaml(COLLECTOR_BASE), readYaml(overlay)) as Obj,
  ]),
];

const pipelinesOf = (config: Obj) =>
  Object.entries(obj(obj(config.service).pipelines)).map(([name, pipeline]) => ({
    name,
    signal: name.split('/')[0] as string,
    receivers: strings(obj(pipeline).receivers),
    processors: strings(obj(pipeline).processors),
    exporters: strings(obj(pipeline).exporters),
  }));

describe('otel-collector-config', () => {
  it.each(collectorConfigs())('%s references only components it defines', (_name, config) => {
    for (const pipeline of pipelinesOf(config)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const id of pipeline[kind]) {
          expect(obj(config[kind]), `${pipeline.name} ${kind}`).toHaveProperty([id]);
        }
      }
      expect(pipeline.receivers.length, pipeline.name).toBeGreaterThan(0);
      expect(pipeline.exporters.length, pipeline.name).toBeGreaterThan(0);
    }
    for (const id of strings(obj(config.service).extensions)) {
      expect(obj(config.extensions), 'service.extensions').toHaveProperty([id]);
    }
    expect(
      pipelinesOf(config)
        .map((p) => p.signal)
        .sort(),
    ).toEqual(['logs', 'metrics', 'traces']);
  });

  it.each(collectorConfigs())('%s orders processors: memory_limiter first, batch last', (_name, config) => {
    for (const { name, signal, processors } of pipelinesOf(config)) {
      const types = processors.map((id) => id.split('/')[0]);
      expect(types[0], name).toBe('memory_limiter');
      expect(types[1], name).toBe('resource_detection');
      expect(types.at(-1), name).toBe('batch');
      if (signal === 'traces') {
        expect(types.indexOf('tail_sampling'), name).toBeGreaterThan(0);
        expect(types.indexOf('batch'), name).toBeGreaterThan(types.indexOf('tail_sampling'));
      } else {
        expect(types, `${name}: tail sampling is for traces only`).not.toContain('tail_sampling');
      }
    }
  });

  it.each(collectorConfigs())('%s uses current component names only', (_name, config) => {
    for (const [section, renamed] of Object.entries(RENAMED)) {
      for (const id of Object.keys(obj(config[section]))) {
        const type = id.split('/')[0] as string;
        expect(renamed[type], `${section}.${id} is called ${renamed[type]} now`).toBeUndefined();
      }
    }
  });

  it.each(collectorConfigs())('%s exports to the SigNoz destination its overlay names', (name, config) => {
    const exporters = new Set(pipelinesOf(config).flatMap((p) => p.exporters));
    const expected = name.endsWith('signoz.yaml')
      ? 'otlp_grpc'
      : name.endsWith('signoz-cloud.yaml')
        ? 'otlp_http'
        : 'debug';
    expect([...exporters]).toEqual([expected]);
  });

  it('overlays only choose exporters: receivers and processors stay those of the base', () => {
    for (const overlay of COLLECTOR_OVERLAYS) {
      const config = readYaml(overlay);
      expect(Object.keys(config).sort(), overlay).toEqual(['exporters', 'service']);
      expect(Object.keys(obj(config.service)), overlay).toEqual(['pipelines']);
      for (const [pipeline, value] of Object.entries(obj(obj(config.service).pipelines))) {
        expect(Object.keys(obj(value)), `${overlay} ${pipeline}`).toEqual(['exporters']);
      }
    }
    const selfHosted = obj(obj(readYaml(COLLECTOR_OVERLAYS[0] as string).exporters).otlp_grpc);
    expect(selfHosted.endpoint).toMatch(/signoz-ingester:4317/);
    // Plaintext by default (an ingester beside the collector); SIGNOZ_OTLP_INSECURE=false for TLS.
    expect(obj(selfHosted.tls).insecure).toMatch(/^\$\{env:SIGNOZ_OTLP_INSECURE:-true\}$/);
    const cloud = obj(obj(readYaml(COLLECTOR_OVERLAYS[1] as string).exporters).otlp_http);
    expect(cloud.endpoint).toMatch(/^\$\{env:SIGNOZ_CLOUD_ENDPOINT\}$/);
    expect(obj(cloud.headers)['signoz-ingestion-key']).toMatch(/^\$\{env:SIGNOZ_INGESTION_KEY\}$/);
  });

  it('listens on all interfaces and limits memory, tail-samples errors, slow traces and a share of the rest', () => {
    const config = readYaml(COLLECTOR_BASE);
    const protocols = obj(obj(obj(config.receivers).otlp).protocols);
    expect(obj(protocols.grpc).endpoint).toBe('0.0.0.0:4317');
    expect(obj(protocols.http).endpoint).toBe('0.0.0.0:4318');
    const extensions = obj(config.extensions);
    expect(obj(extensions.health_check).endpoint).toMatch(/^0\.0\.0\.0:13133$/);
    expect(obj(extensions.zpages).endpoint).toMatch(/^0\.0\.0\.0:55679$/);

    const processors = obj(config.processors);
    const limiter = obj(processors.memory_limiter);
    expect(limiter.check_interval).toBe('1s');
    expect(limiter.limit_percentage).toBeGreaterThan(limiter.spike_limit_percentage as number);
    expect(strings(obj(processors.resource_detection).detectors)).toEqual(['env', 'system']);

    const policies = list(obj(processors.tail_sampling).policies).map(obj);
    const byType = Object.fromEntries(policies.map((p) => [p.type, p]));
    expect(strings(obj(obj(byType.status_code).status_code).status_codes)).toEqual(['ERROR']);
    expect(obj(obj(byType.latency).latency).threshold_ms).toMatch(
      /^\$\{env:FLOWTRACE_TAIL_SLOW_THRESHOLD_MS:-\d+\}$/,
    );
    expect(obj(obj(byType.probabilistic).probabilistic).sampling_percentage).toMatch(
      /^\$\{env:FLOWTRACE_TAIL_SAMPLE_PERCENT:-\d+\}$/,
    );
  });

  it('names renamed components and metrics by their current names in configs and docs', () => {
    const docs = readdirSync(join(ROOT, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`);
    const files = [
      'README.md',
      ...docs,
      COLLECTOR_BASE,
      ...COLLECTOR_OVERLAYS,
      COMPOSE_BASE,
      ...COMPOSE_OVERRIDES,
    ];
    for (const file of files) {
      for (const [index, line] of read(file).split('\n').entries()) {
        for (const [old, current] of Object.entries(RENAMED_IN_PROSE)) {
          if (new RegExp(`\\b${old}(?![a-z])`).test(line)) {
            expect(line, `${file}:${index + 1} names ${old}, now ${current}`).toContain(current);
          }
        }
      }
    }
  });

  it('writes every environment reference in the collector syntax (env:NAME, optionally :-default)', () => {
    for (const file of [COLLECTOR_BASE, ...COLLECTOR_OVERLAYS]) {
      const text = read(file)
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'))
        .join('\n');
      for (const [reference] of text.matchAll(/\$\{[^}]*\}/g)) {
        expect(reference, file).toMatch(/^\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]+)?\}$/);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Docker Compose

const COMPOSE_BASE = 'docker-compose.yml';
const COMPOSE_OVERRIDES = ['docker-compose.signoz.yml', 'docker-compose.signoz-cloud.yml'];
/** Our collector's service name: its DNS name on the compose network and on SigNoz's network. */
const COLLECTOR_SERVICE = 'flowtrace-collector';
/**
 * Names a self-hosted SigNoz gives its services and containers on its Docker network: SigNoz's own compose
 * manifests (deploy/docker/docker-compose.yaml up to v0.129, network `signoz-net`) and a Foundry compose
 * install (network `signoz-network`, collector `signoz-ingester`).
 */
const SIGNOZ_NETWORK_NAMES = [
  'signoz',
  'otel-collector',
  'signoz-otel-collector',
  'clickhouse',
  'signoz-clickhouse',
  'zookeeper-1',
  'signoz-zookeeper-1',
  'init-clickhouse',
  'signoz-init-clickhouse',
  'signoz-telemetrystore-migrator',
  'signoz-ingester',
  'signoz-metastore',
  'signoz-keeper',
];
/** Host ports a SigNoz on the same host publishes (OTLP gRPC, OTLP HTTP, UI). */
const SIGNOZ_HOST_PORTS = [4317, 4318, 8080];
const COLLECTOR_IMAGE = 'otel/opentelemetry-collector-contrib:0.159.0';
const WORKER_SERVICES = NODE_TYPES.map((type) => `worker-${type}`);

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

function interpolateAll(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, vars));
  if (isObj(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, vars)]));
  }
  return value;
}

/** Enough of Compose's merge of -f files: maps merged, sequences of mounts and ports appended. */
function mergeCompose(base: unknown, override: unknown, key = ''): unknown {
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

const composeSetups = (): [string, Obj][] => [
  [COMPOSE_BASE, interpolateAll(readYaml(COMPOSE_BASE), {}) as Obj],
  ...COMPOSE_OVERRIDES.map((override): [string, Obj] => [
    `${COMPOSE_BASE} + ${override}`,
    interpolateAll(
      mergeCompose(readYaml(COMPOSE_BASE), readYaml(override)),
      HOST_VARS[override] ?? {},
    ) as Obj,
  ]),
];

const servicesOf = (compose: Obj) =>
  Object.entries(obj(compose.services)).map(([name, s]) => [name, obj(s)] as const);

/** Host ports of a service's `ports`, short (`[ip:]host:container[/proto]`) or long syntax. */
function publishedPorts(service: Obj): number[] {
  return list(service.ports).flatMap((port) => {
    if (isObj(port)) return port.published === undefined ? [] : [Number(port.published)];
    const parts = String(port).split('/')[0]?.split(':') ?? [];
    if (parts.length < 2) return []; // container port only: Docker picks an ephemeral host port
    return [Number(parts.at(-2))];
  });
}

/** The environment a container gets: values interpolated, keys without a value left unset. */
function containerEnv(service: Obj): Record<string, string> {
  const env = service.environment;
  const entries = Array.isArray(env)
    ? env.map((item) => String(item).split(/=(.*)/s).slice(0, 2) as [string, string | undefined])
    : Object.entries(obj(env)).map(([k, v]) => [k, v === null ? undefined : String(v)] as const);
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as Record<string, string>;
}

const declaredEnvKeys = (service: Obj): string[] =>
  Array.isArray(service.environment)
    ? service.environment.map((item) => String(item).split('=')[0] as string)
    : Object.keys(obj(service.environment));

/** Standard variables the OpenTelemetry Node SDK reads (sdk-node, exporters, batch processors). */
const OTEL_SDK_ENV =
  /^OTEL_(SDK_DISABLED|SERVICE_NAME|RESOURCE_ATTRIBUTES|LOG_LEVEL|PROPAGATORS|NODE_RESOURCE_DETECTORS|TRACES_SAMPLER(_ARG)?|(TRACES|METRICS|LOGS)_EXPORTER|EXPORTER_OTLP_((TRACES|METRICS|LOGS)_)?(ENDPOINT|PROTOCOL|HEADERS|TIMEOUT|COMPRESSION)|BSP_(SCHEDULE_DELAY|EXPORT_TIMEOUT|MAX_QUEUE_SIZE|MAX_EXPORT_BATCH_SIZE)|BLRP_(SCHEDULE_DELAY|EXPORT_TIMEOUT|MAX_QUEUE_SIZE|MAX_EXPORT_BATCH_SIZE)|METRIC_EXPORT_(INTERVAL|TIMEOUT)|(SPAN|LOGRECORD)?_?ATTRIBUTE_(COUNT|VALUE_LENGTH)_LIMIT|SPAN_(EVENT|LINK)_COUNT_LIMIT)$/;

const isAppService = (service: Obj) =>
  String(service.image ?? '').startsWith('flowtrace') || 'build' in service;

describe('docker-compose', () => {
  it.each(composeSetups())('%s: every dependency, network, volume and mounted file exists', (_n, compose) => {
    const services = obj(compose.services);
    const networks = new Set(['default', ...Object.keys(obj(compose.networks))]);
    const volumes = new Set(Object.keys(obj(compose.volumes)));
    for (const [name, service] of servicesOf(compose)) {
      const dependsOn = Array.isArray(service.depends_on)
        ? strings(service.depends_on)
        : Object.keys(obj(service.depends_on));
      for (const target of dependsOn)
        expect(services, `${name} depends on ${target}`).toHaveProperty([target]);
      const serviceNetworks = Array.isArray(service.networks)
        ? strings(service.networks)
        : Object.keys(obj(service.networks));
      for (const network of serviceNetworks)
        expect(networks.has(network), `${name}: network ${network}`).toBe(true);
      for (const mount of list(service.volumes)) {
        const source = isObj(mount) ? String(mount.source) : (String(mount).split(':')[0] as string);
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(resolve(ROOT, source)), `${name} mounts ${source}`).toBe(true);
        } else {
          expect(volumes.has(source), `${name}: volume ${source}`).toBe(true);
        }
      }
      const build = service.build;
      if (build !== undefined) {
        const context = typeof build === 'string' ? build : String(obj(build).context ?? '.');
        expect(existsSync(join(ROOT, context, 'Dockerfile')), `${name} builds ${context}`).toBe(true);
      }
    }
    for (const network of Object.values(obj(compose.networks)).map(obj)) {
      if (network.external) expect(network.name, 'an external network names its network').toBeTruthy();
    }
  });

  it.each(composeSetups())('%s: the collector reads config files that are mounted', (_n, compose) => {
    const collector = obj(obj(compose.services)[COLLECTOR_SERVICE]);
    expect(collector.image).toBe(COLLECTOR_IMAGE);
    const files = strings(collector.command).map((arg) => arg.replace(/^--config=/, ''));
    expect(files[0]).toBe('/etc/otelcol-contrib/config.yaml');
    const mounts = new Map(
      strings(collector.volumes).map((mount) => {
        const [source, target] = mount.split(':') as [string, string];
        return [target, source];
      }),
    );
    for (const file of files) expect(mounts.has(file), `${file} is mounted`).toBe(true);
    expect(mounts.get('/etc/otelcol-contrib/config.yaml')).toBe(`./${COLLECTOR_BASE}`);
    for (const source of mounts.values()) expect(source).toMatch(/^\.\/otel-collector-config[\w.-]*\.yaml$/);
  });

  it.each(composeSetups())('%s: publishes no port a SigNoz on the same host publishes', (_n, compose) => {
    for (const [name, service] of servicesOf(compose)) {
      for (const port of publishedPorts(service))
        expect(SIGNOZ_HOST_PORTS, `${name} publishes ${port}`).not.toContain(port);
    }
  });

  it.each(['signoz-network', 'signoz-net'])('shares no DNS name with SigNoz on its network %s', (network) => {
    const compose = interpolateAll(
      mergeCompose(readYaml(COMPOSE_BASE), readYaml(COMPOSE_OVERRIDES[0] as string)),
      {
        SIGNOZ_NETWORK: network,
      },
    ) as Obj;
    const aliases = Object.entries(obj(compose.networks))
      .filter(([, definition]) => obj(definition).name === network)
      .map(([alias]) => alias);
    expect(aliases).toHaveLength(1);
    const onSignozNetwork = servicesOf(compose).filter(([, service]) =>
      (Array.isArray(service.networks) ? strings(service.networks) : Object.keys(obj(service.networks))).some(
        (n) => aliases.includes(n),
      ),
    );
    expect(onSignozNetwork.map(([name]) => name)).toEqual([COLLECTOR_SERVICE]);
    for (const [name, service] of onSignozNetwork) {
      for (const dnsName of [name, service.container_name].filter((n) => n !== undefined).map(String)) {
        expect(dnsName, `${name} is in our namespace`).toMatch(/^flowtrace-/);
        expect(SIGNOZ_NETWORK_NAMES, `${dnsName} is also a SigNoz name`).not.toContain(dnsName);
      }
    }
    // What our collector exports to is never one of our own services.
    const exporter = obj(obj(readYaml(COLLECTOR_OVERLAYS[0] as string).exporters).otlp_grpc);
    const host = /:-([^:}]+):\d+\}$/.exec(String(exporter.endpoint))?.[1];
    expect(host).toBe('signoz-ingester');
    for (const target of [host, 'otel-collector'])
      expect(obj(compose.services)).not.toHaveProperty([target as string]);
  });

  it('passes every executor variable to the processes that read it', () => {
    const services = obj(readYaml(COMPOSE_BASE).services);
    const api = new Set(declaredEnvKeys(obj(services.api)));
    // The keys of the executors' environment schema (the API reads its ingestion part).
    for (const key of INGESTION_ENV_KEYS) expect(api.has(key), `api gets ${key}`).toBe(true);
    for (const name of WORKER_SERVICES) {
      const worker = new Set(declaredEnvKeys(obj(services[name])));
      for (const key of EXECUTORS_ENV_KEYS) expect(worker.has(key), `${name} gets ${key}`).toBe(true);
    }
  });

  it('runs one scalable service per node type, and the infrastructure BullMQ and pgvector need', () => {
    const services = obj(readYaml(COMPOSE_BASE).services);
    const workers = Object.keys(services).filter((name) => name.startsWith('worker-'));
    expect(workers.sort()).toEqual([...WORKER_SERVICES].sort());
    for (const [index, name] of WORKER_SERVICES.entries()) {
      const worker = obj(services[name]);
      expect(worker.container_name, `${name} must scale`).toBeUndefined();
      expect(worker.ports, `${name} must scale`).toBeUndefined();
      expect(strings(worker.command)).toEqual([
        'node',
        'apps/worker/src/main.ts',
        '--kinds',
        NODE_TYPES[index],
      ]);
    }

    const redis = obj(services.redis);
    expect(String(redis.image)).toMatch(/^redis:7(\.|-|$)/);
    const redisArgs = strings(redis.command).join(' ');
    for (const setting of ['--appendonly yes', '--appendfsync everysec', '--maxmemory-policy noeviction']) {
      expect(redisArgs).toContain(setting);
    }
    expect(strings(obj(redis.healthcheck).test)).toContain('redis-cli');
    expect(strings(redis.volumes).some((mount) => mount.endsWith(':/data'))).toBe(true);

    const postgres = obj(services.postgres);
    expect(String(postgres.image)).toMatch(/^pgvector\/pgvector:([\w.]+-)?pg\d+/);
    expect(strings(obj(postgres.healthcheck).test).join(' ')).toContain('pg_isready');
    expect(strings(postgres.volumes).length).toBeGreaterThan(0);

    expect(strings(obj(services.migrate).command)).toEqual(['node', 'apps/cli/src/migrate.ts']);
    for (const name of ['api', ...WORKER_SERVICES]) {
      const dependsOn = obj(obj(services[name]).depends_on);
      expect(obj(dependsOn.migrate).condition, name).toBe('service_completed_successfully');
      expect(obj(dependsOn.redis).condition, name).toBe('service_healthy');
      expect(obj(dependsOn.postgres).condition, name).toBe('service_healthy');
    }
  });

  it('passes only variables the processes read, with values their configs accept', () => {
    const compose = interpolateAll(readYaml(COMPOSE_BASE), {}) as Obj;
    const services = obj(compose.services);
    // The apps' schemas include the executors' variables they read.
    const allowed = (own: readonly string[]) => {
      const keys = new Set(own);
      return (key: string) =>
        keys.has(key) || (OTEL_SDK_ENV.test(key) && !key.startsWith('OTEL_INSTRUMENTATION'));
    };

    const api = obj(services.api);
    const apiAllowed = allowed(API_ENV_KEYS);
    for (const key of declaredEnvKeys(api)) expect(apiAllowed(key), `api reads ${key}`).toBe(true);
    const apiConfig = loadApiConfig(containerEnv(api));
    expect(publishedPorts(api)).toEqual([3000]);
    expect(strings(api.command)).toEqual(['node', 'apps/api/src/main.ts']);
    const healthcheck = strings(obj(api.healthcheck).test).join(' ');
    expect(HEALTH_PATHS.some((path) => healthcheck.includes(`127.0.0.1:${apiConfig.PORT}${path}`))).toBe(
      true,
    );

    for (const [index, name] of WORKER_SERVICES.entries()) {
      const worker = obj(services[name]);
      const workerAllowed = allowed(WORKER_ENV_KEYS);
      for (const key of declaredEnvKeys(worker))
        expect(workerAllowed(key), `${name} reads ${key}`).toBe(true);
      const kinds = strings(worker.command)[3];
      const config = loadWorkerConfig(containerEnv(worker), kinds);
      expect(config.kinds).toEqual([NODE_TYPES[index]]);
      // Docker's SIGKILL must not cut the drain short.
      expect(durationMs(String(worker.stop_grace_period)), name).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
    }

    // Hosts in the URLs are services of this file, on the ports they listen on.
    const env = containerEnv(api);
    expect(new URL(env.DATABASE_URL as string).host).toBe('postgres:5432');
    expect(new URL(env.REDIS_URL as string).host).toBe('redis:6379');
    expect(new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT as string).host).toBe(`${COLLECTOR_SERVICE}:4318`);
    for (const host of ['postgres', 'redis', COLLECTOR_SERVICE]) expect(services).toHaveProperty([host]);

    // migrate.ts reads DATABASE_URL and VECTOR_DATABASE_URL only.
    const migrateSource = read('apps/cli/src/migrate.ts');
    for (const key of declaredEnvKeys(obj(services.migrate))) expect(migrateSource).toContain(key);
  });

  it('fits every pool at the default scale into Postgres max_connections', () => {
    const compose = interpolateAll(readYaml(COMPOSE_BASE), {}) as Obj;
    const services = obj(compose.services);
    const maxConnections = Number(
      /max_connections=(\d+)/.exec(strings(obj(services.postgres).command).join(' '))?.[1],
    );
    const processes = servicesOf(compose).filter(([name, s]) => isAppService(s) && name !== 'migrate');
    const pools = processes.map(([, s]) => loadApiConfig(containerEnv(s)).DATABASE_POOL_MAX);
    const reserved = 3 + 10; // superuser_reserved_connections, plus migrate/apikey/psql
    expect(pools.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(maxConnections - reserved);
  });
});

function durationMs(value: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  if (!match) throw new Error(`unsupported duration ${value}`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

// ---------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
}

function dockerfile(): Instruction[] {
  return read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: (op as string).toUpperCase(), args: rest.join(' ') };
    });
}

/** Workspace folders, from the root package.json globs (`apps/*`, `packages/*`). */
function workspaces(): string[] {
  const globs = strings(JSON.parse(read('package.json')).workspaces);
  return globs.flatMap((glob) => {
    const base = glob.replace(/\/\*$/, '');
    return readdirSync(join(ROOT, base), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, base, entry.name, 'package.json')))
      .map((entry) => `${base}/${entry.name}`);
  });
}

/** Bare package names imported (not type-only) by the files reachable from `entry`. */
function runtimeImports(entries: string[]): Set<string> {
  const byName = new Map(
    workspaces().map((dir) => [JSON.parse(read(`${dir}/package.json`)).name as string, dir] as const),
  );
  const external = new Set<string>();
  const seen = new Set<string>();
  const pending = entries.map((entry) => join(ROOT, entry));
  const importPattern =
    /(?:^|[\s;])(?:import|export)\s+(?!type[\s{])(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
    for (const match of source.matchAll(importPattern)) {
      const specifier = (match[1] ?? match[2]) as string;
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        pending.push(resolve(dirname(file), specifier));
        continue;
      }
      const segments = specifier.split('/');
      const name = specifier.startsWith('@') ? segments.slice(0, 2).join('/') : (segments[0] as string);
      const workspace = byName.get(name);
      if (!workspace) {
        external.add(name);
        continue;
      }
      const subpath = `.${specifier.slice(name.length)}`;
      const exportsMap = JSON.parse(read(`${workspace}/package.json`)).exports as Record<string, string>;
      const target = exportsMap[subpath];
      if (!target) throw new Error(`${relative(ROOT, file)}: ${specifier} is not exported`);
      pending.push(join(ROOT, workspace, target));
    }
  }
  return external;
}

describe('Dockerfile', () => {
  const all = dockerfile();
  // The image is the last stage; the stages before it (the run viewer's build) only produce files that it
  // copies with `--from`.
  const imageStart = all.map((i) => i.op).lastIndexOf('FROM');
  const instructions = all.slice(imageStart);
  const at = (op: string) => instructions.filter((i) => i.op === op);

  it('runs on the Node version development pins, as a non-root user, in production mode', () => {
    const [from] = at('FROM');
    const pinned = String(JSON.parse(read('package.json')).devDependencies.node);
    const [major, minor] = pinned.split('.');
    expect(from?.args).toBe(`node:${major}.${minor}-bookworm-slim`);
    expect(at('FROM')).toHaveLength(1);
    for (const stage of all.filter((i) => i.op === 'FROM'))
      expect(stage.args.split(/\s+/)[0]).toBe(from?.args);
    const user = at('USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(
      at('ENV')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/\bNODE_ENV=production\b/);
  });

  it('installs from the lockfile with every workspace manifest, leaving dev dependencies out', () => {
    const npmCi = instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(0);
    expect(instructions[npmCi]?.args).toContain('--omit=dev');
    const copiedBefore = instructions
      .slice(0, npmCi)
      .filter((i) => i.op === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(copiedBefore).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    for (const workspace of workspaces()) expect(copiedBefore).toContain(`${workspace}/package.json`);
  });

  it('copies sources that exist, and .dockerignore keeps none of them out', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.git', '.env']));
    for (const copy of all.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))) {
      const sources = copy.args
        .split(/\s+/)
        .filter((arg) => !arg.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(ignored, source).not.toContain(source);
        expect(ignored, source).not.toContain(source.split('/')[0]);
      }
    }
  });

  it('builds the run viewer in a build stage and ships only its output', () => {
    const copy = at('COPY').find(
      (i) => /--from=\S+/.test(i.args) && /\s(\.\/)?packages\/ui\/dist\/?$/.test(i.args),
    );
    expect(copy, 'COPY --from=<stage> … packages/ui/dist').toBeDefined();
    const stage = /--from=(\S+)/.exec(copy?.args ?? '')?.[1] ?? '';
    const stageStart = all.findIndex(
      (i) => i.op === 'FROM' && new RegExp(`\\sAS\\s+${stage}$`, 'i').test(i.args),
    );
    expect(stageStart, `a stage named ${stage}`).toBeGreaterThanOrEqual(0);
    const stageRuns = all
      .slice(stageStart, imageStart)
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(stageRuns).toMatch(/npm run build -w @flowtrace\/ui|npm run build:ui/);
  });

  it('starts processes from files that exist: its CMD and every compose command', () => {
    const cmd = JSON.parse(at('CMD').at(-1)?.args ?? '[]') as string[];
    const commands = [cmd];
    for (const [, service] of servicesOf(readYaml(COMPOSE_BASE))) {
      if (isAppService(service)) commands.push(strings(service.command));
    }
    for (const command of commands) {
      expect(command[0]).toBe('node');
      expect(existsSync(join(ROOT, command[1] as string)), command.join(' ')).toBe(true);
    }
  });

  it('needs no dev dependency at run time (npm ci --omit=dev leaves them out)', () => {
    const entries = [
      'apps/api/src/main.ts',
      'apps/worker/src/main.ts',
      'apps/cli/src/migrate.ts',
      'apps/cli/src/apikey.ts',
    ];
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    const imported = runtimeImports(entries);
    expect(imported.size).toBeGreaterThan(10);
    for (const name of imported) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, `${name} is installed`).toBeDefined();
      expect(entry?.dev, `${name} is a dev dependency`).not.toBe(true);
    }
  });
});
