import { HEALTH_PATHS } from '@flowtrace/api/health';
import { EXECUTORS_ENV_KEYS, INGESTION_ENV_KEYS } from '@flowtrace/executors/config';
import { NODE_TYPES } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { API_ENV_KEYS, loadApiConfig } from '../../apps/api/src/config.ts';
import { loadWorkerConfig, WORKER_ENV_KEYS } from '../../apps/worker/src/config.ts';
import {
  COLLECTOR_SERVICE,
  containerEnv,
  declaredEnvKeys,
  interpolateAll,
  isAppService,
  publishedPorts,
  servicesOf,
  WORKER_SERVICES,
} from './compose-setups.ts';
import { COMPOSE_BASE, type Obj, obj, read, readYaml, strings } from './deployment-files.ts';

/** Standard variables the OpenTelemetry Node SDK reads (sdk-node, exporters, batch processors). */
const OTEL_SDK_ENV =
  /^OTEL_(SDK_DISABLED|SERVICE_NAME|RESOURCE_ATTRIBUTES|LOG_LEVEL|PROPAGATORS|NODE_RESOURCE_DETECTORS|TRACES_SAMPLER(_ARG)?|(TRACES|METRICS|LOGS)_EXPORTER|EXPORTER_OTLP_((TRACES|METRICS|LOGS)_)?(ENDPOINT|PROTOCOL|HEADERS|TIMEOUT|COMPRESSION)|BSP_(SCHEDULE_DELAY|EXPORT_TIMEOUT|MAX_QUEUE_SIZE|MAX_EXPORT_BATCH_SIZE)|BLRP_(SCHEDULE_DELAY|EXPORT_TIMEOUT|MAX_QUEUE_SIZE|MAX_EXPORT_BATCH_SIZE)|METRIC_EXPORT_(INTERVAL|TIMEOUT)|(SPAN|LOGRECORD)?_?ATTRIBUTE_(COUNT|VALUE_LENGTH)_LIMIT|SPAN_(EVENT|LINK)_COUNT_LIMIT)$/;

describe('docker-compose', () => {
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
