import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * Reading the deployment files (Dockerfile, docker-compose*.yml, otel-collector-config*.yaml) for the
 * tests that check them by parsing them: no Docker engine or collector binary is needed. What Docker or
 * the collector would only report at start (a missing file, an unknown component, a variable no process
 * reads) fails in those tests instead.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
// Compose and the collector both honour YAML merge keys (`<<: *anchor`).
export const readYaml = (path: string): Obj => parse(read(path), { merge: true }) as Obj;

export type Obj = Record<string, unknown>;
export const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const obj = (value: unknown): Obj => (isObj(value) ? value : {});
export const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const strings = (value: unknown): string[] => list(value).map(String);

export const COLLECTOR_BASE = 'otel-collector-config.yaml';
export const COLLECTOR_OVERLAYS = [
  'otel-collector-config.signoz.yaml',
  'otel-collector-config.signoz-cloud.yaml',
];
export const COMPOSE_BASE = 'docker-compose.yml';
export const COMPOSE_OVERRIDES = ['docker-compose.signoz.yml', 'docker-compose.signoz-cloud.yml'];
