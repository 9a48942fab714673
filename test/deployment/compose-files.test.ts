import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NODE_TYPES } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import {
  COLLECTOR_SERVICE,
  composeSetups,
  interpolateAll,
  mergeCompose,
  publishedPorts,
  servicesOf,
  WORKER_SERVICES,
} from './compose-setups.ts';
import {
  COLLECTOR_BASE,
  COLLECTOR_OVERLAYS,
  COMPOSE_BASE,
  COMPOSE_OVERRIDES,
  isObj,
  list,
  type Obj,
  obj,
  ROOT,
  readYaml,
  strings,
} from './deployment-files.ts';

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
});
