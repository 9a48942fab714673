import { readFileSync } from 'node:fs';
import { EXECUTORS_ENV_KEYS, INGESTION_ENV_KEYS } from '@flowtrace/executors/config';
import { describe, expect, it } from 'vitest';
import { API_ENV_KEYS } from '../../apps/api/src/config.ts';
import { WORKER_ENV_KEYS } from '../../apps/worker/src/config.ts';

const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it.each([
    ['API', API_ENV_KEYS],
    ['worker', WORKER_ENV_KEYS],
  ])('documents every variable of the %s schema by its full name', (_app, keys) => {
    const missing = keys.filter((key) => !docs.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it('covers the executors: their variables are part of the apps schemas', () => {
    for (const key of EXECUTORS_ENV_KEYS) expect(WORKER_ENV_KEYS, key).toContain(key);
    for (const key of INGESTION_ENV_KEYS) expect(API_ENV_KEYS, key).toContain(key);
  });
});
