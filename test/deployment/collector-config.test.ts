import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
  read,
  readYaml,
  strings,
} from './deployment-files.ts';

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
