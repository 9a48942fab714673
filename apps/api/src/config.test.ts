import { describe, expect, it } from 'vitest';
import { loadApiConfig } from './config.ts';

describe('loadApiConfig', () => {
  it('applies defaults for a local setup', () => {
    const config = loadApiConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.QUEUE_PREFIX).toBe('{flowtrace}');
    expect(config.DATABASE_PREPARE).toBe(true);
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadApiConfig({ PORT: '8081', DATABASE_PREPARE: 'false', DATABASE_POOL_MAX: '4' });
    expect(config.PORT).toBe(8081);
    expect(config.DATABASE_PREPARE).toBe(false);
    expect(config.DATABASE_POOL_MAX).toBe(4);
  });

  it('bounds the request head and the re-drives of a node', () => {
    expect(loadApiConfig({})).toMatchObject({ MAX_HEADER_BYTES: 16_384, RECONCILER_MAX_REDRIVES: 3 });
    expect(loadApiConfig({ MAX_HEADER_BYTES: '32768', RECONCILER_MAX_REDRIVES: '0' })).toMatchObject({
      MAX_HEADER_BYTES: 32_768,
      RECONCILER_MAX_REDRIVES: 0,
    });
    expect(() => loadApiConfig({ MAX_HEADER_BYTES: '10' })).toThrow(/MAX_HEADER_BYTES/);
    expect(() => loadApiConfig({ RECONCILER_MAX_REDRIVES: '-1' })).toThrow(/RECONCILER_MAX_REDRIVES/);
  });

  it('names every invalid variable in one error', () => {
    expect(() =>
      loadApiConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', DATABASE_PREPARE: 'maybe' }),
    ).toThrow(/PORT[\s\S]*DATABASE_URL|DATABASE_URL[\s\S]*PORT/);
    expect(() => loadApiConfig({ DATABASE_PREPARE: 'maybe' })).toThrow(/DATABASE_PREPARE/);
  });

  it('parses the ingestion settings (embedder, prices) with the rest, keeping their variables out', () => {
    const config = loadApiConfig({
      FLOWTRACE_EMBEDDINGS_PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-embed',
      FLOWTRACE_PRICING: '[{"provider":"openai","model":"text-embedding-3-small","input":0.02,"output":0}]',
    });
    expect(config.ingestion.embeddings).toMatchObject({ provider: 'openai', apiKey: 'sk-embed' });
    expect(config.ingestion.pricing?.prices).toHaveLength(1);
    expect(config).not.toHaveProperty('OPENAI_API_KEY');
    expect(loadApiConfig({}).ingestion).toEqual({
      pricing: undefined,
      embeddings: { provider: 'offline', dimensions: 256 },
    });
    expect(() => loadApiConfig({ FLOWTRACE_PRICING: '{' })).toThrow(
      /invalid API configuration:\n {2}FLOWTRACE_PRICING: is not valid JSON/,
    );
  });
});
