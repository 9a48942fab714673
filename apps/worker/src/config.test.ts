import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.ts';

describe('loadWorkerConfig', () => {
  it('consumes every node type by default', () => {
    const config = loadWorkerConfig({});
    expect(config.kinds).toEqual(['llm', 'agent', 'connector', 'rag']);
    expect(config.concurrency).toEqual({ llm: 16, agent: 16, connector: 16, rag: 16 });
  });

  it('takes --kinds over WORKER_KINDS and per-type concurrency over the default', () => {
    const config = loadWorkerConfig({ WORKER_KINDS: 'rag', WORKER_CONCURRENCY_LLM: '64' }, 'llm, connector');
    expect(config.kinds).toEqual(['llm', 'connector']);
    expect(config.concurrency.llm).toBe(64);
    expect(config.concurrency.connector).toBe(16);
  });

  it('rejects unknown node types and empty lists with the variable named', () => {
    expect(() => loadWorkerConfig({}, 'llm,gpu')).toThrow(
      /WORKER_KINDS.*node types from: llm, agent, connector, rag/,
    );
    expect(() => loadWorkerConfig({}, ' , ')).toThrow(/WORKER_KINDS.*at least one/);
    expect(() => loadWorkerConfig({ BULLMQ_LOCK_DURATION_MS: '10' })).toThrow(/BULLMQ_LOCK_DURATION_MS/);
  });
});
