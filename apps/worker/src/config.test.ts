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

  it('parses the executors settings with every other variable, naming a bad one', () => {
    const config = loadWorkerConfig({
      OPENAI_API_KEY: 'sk-test',
      FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: 'api.internal',
      FLOWTRACE_CREDENTIALS: JSON.stringify({
        crm: { headers: { authorization: 'Bearer x' }, hosts: ['crm.example'] },
      }),
    });
    expect(config.executors.providers.openai).toEqual({ kind: 'openai', apiKey: 'sk-test' });
    expect(config.executors.ssrf.allowedHosts).toEqual(['api.internal']);
    expect(config.executors.credentials.names()).toEqual(['crm']);
    // The raw variables stay out of the rest of the configuration.
    expect(config).not.toHaveProperty('OPENAI_API_KEY');
    expect(config).not.toHaveProperty('FLOWTRACE_CREDENTIALS');

    let message = '';
    try {
      loadWorkerConfig({
        FLOWTRACE_PROVIDERS: '{"a": {"kind": "openai", "apiKey": "sk-secret"',
        FLOWTRACE_CONNECTOR_ALLOWED_CIDRS: '10.0.0.0/99',
        WORKER_CONCURRENCY: '0',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid worker configuration:\n/);
    expect(message).toContain(
      '  FLOWTRACE_PROVIDERS: is not valid JSON (expected a JSON object of named providers)',
    );
    expect(message).toContain('  FLOWTRACE_CONNECTOR_ALLOWED_CIDRS: "10.0.0.0/99"');
    expect(message).toContain('  WORKER_CONCURRENCY:');
    expect(message).not.toContain('sk-secret');
  });
});
