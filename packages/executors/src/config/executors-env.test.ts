import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MAX_RESPONSE_BYTES, MAX_RESPONSE_BYTES_CEILING } from '../connector/connector-limits.ts';
import {
  EXECUTORS_ENV_KEYS,
  executorsEnv,
  INGESTION_ENV_KEYS,
  ingestionConfigFromEnv,
  ingestionEnv,
  loadExecutorsConfig,
} from './executors-env.ts';

const MiB = 1024 * 1024;

/** The error `loadExecutorsConfig` throws, or '' when it does not. */
function problem(env: Record<string, string>): string {
  try {
    loadExecutorsConfig(env);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('the executors environment', () => {
  it('has defaults for everything: no variable is required', () => {
    const config = loadExecutorsConfig({});
    expect(config.providers).toEqual({ simulated: { kind: 'simulated' } });
    expect(config.pricing).toBeUndefined();
    expect(config.capture).toEqual({ enabled: false, maxLength: 16_384, redact: [] });
    expect(config.ssrf).toEqual({ allowedHosts: [], allowedCidrs: [] });
    expect(config.connector).toEqual({ maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES });
    expect(config.credentials.names()).toEqual([]);
    expect(config.embeddings).toEqual({ provider: 'offline', dimensions: 256 });
  });

  it('treats empty and blank values as unset (compose passes unset variables through empty)', () => {
    const blank = Object.fromEntries(
      EXECUTORS_ENV_KEYS.map((key) => [key, key.endsWith('_KEY') ? '' : '  ']),
    );
    expect(loadExecutorsConfig(blank)).toEqual(loadExecutorsConfig({}));
  });

  it('names every bad variable in one error', () => {
    const message = problem({
      FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: '5MiB',
      FLOWTRACE_EMBEDDINGS_PROVIDER: 'cohere',
      OPENAI_BASE_URL: 'ftp://models.internal',
    });
    expect(message).toMatch(/^invalid executors configuration:\n/);
    expect(message).toContain(
      `  FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: must be a whole number of bytes from 1 to ${MAX_RESPONSE_BYTES_CEILING}`,
    );
    expect(message).toContain('  FLOWTRACE_EMBEDDINGS_PROVIDER: must be one of offline, openai');
    expect(message).toContain('  OPENAI_BASE_URL: must be an http(s) URL');
  });

  it('derives its keys from the schema; the API reads the ingestion subset', () => {
    expect(EXECUTORS_ENV_KEYS).toEqual(Object.keys(executorsEnv));
    expect(INGESTION_ENV_KEYS).toEqual(Object.keys(ingestionEnv));
    for (const key of INGESTION_ENV_KEYS) expect(EXECUTORS_ENV_KEYS).toContain(key);
    expect([...INGESTION_ENV_KEYS].sort()).toEqual([
      'FLOWTRACE_EMBEDDINGS_API_KEY',
      'FLOWTRACE_EMBEDDINGS_BASE_URL',
      'FLOWTRACE_EMBEDDINGS_BATCH_SIZE',
      'FLOWTRACE_EMBEDDINGS_DIMENSIONS',
      'FLOWTRACE_EMBEDDINGS_MODEL',
      'FLOWTRACE_EMBEDDINGS_PROVIDER',
      'FLOWTRACE_PRICING',
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
    ]);
  });
});

describe('providers', () => {
  it('registers openai and anthropic from their conventional variables', () => {
    const { providers } = loadExecutorsConfig({
      OPENAI_API_KEY: 'sk-openai',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      ANTHROPIC_API_KEY: 'sk-ant',
      ANTHROPIC_BASE_URL: 'https://anthropic.internal',
    });
    expect(providers).toEqual({
      openai: { kind: 'openai', apiKey: 'sk-openai', baseUrl: 'http://127.0.0.1:11434/v1' },
      anthropic: { kind: 'anthropic', apiKey: 'sk-ant', baseUrl: 'https://anthropic.internal' },
      simulated: { kind: 'simulated' },
    });
  });

  it('registers a keyless OpenAI-compatible server from OPENAI_BASE_URL alone, but no keyless anthropic', () => {
    const { providers } = loadExecutorsConfig({
      OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1',
      ANTHROPIC_BASE_URL: 'https://x',
    });
    expect(providers.openai).toEqual({ kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1' });
    expect(providers.anthropic).toBeUndefined();
  });

  it('reads named providers from FLOWTRACE_PROVIDERS, which win over the conveniences', () => {
    const { providers } = loadExecutorsConfig({
      FLOWTRACE_PROVIDERS: JSON.stringify({
        openai: { kind: 'openai', apiKey: 'sk-json', maxConcurrency: 4, requestsPerSecond: 2 },
        local: { kind: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', genAiProviderName: 'ollama' },
        simulated: { kind: 'simulated', simulated: { latencyMs: 250, jitterMs: 50, outputTokens: 32 } },
      }),
      OPENAI_API_KEY: 'sk-env',
    });
    expect(providers.openai).toEqual({
      kind: 'openai',
      apiKey: 'sk-json',
      maxConcurrency: 4,
      requestsPerSecond: 2,
    });
    expect(providers.local?.genAiProviderName).toBe('ollama');
    expect(providers.simulated?.simulated).toEqual({ latencyMs: 250, jitterMs: 50, outputTokens: 32 });
  });

  it('explains invalid providers by path, without echoing secrets', () => {
    expect(problem({ FLOWTRACE_PROVIDERS: '{"a": {"kind": "openai", "apiKey": "sk-secret"' })).toContain(
      'FLOWTRACE_PROVIDERS: is not valid JSON (expected a JSON object of named providers)',
    );
    expect(problem({ FLOWTRACE_PROVIDERS: '["openai"]' })).toContain(
      'FLOWTRACE_PROVIDERS: must be a JSON object of named providers',
    );
    const message = problem({
      FLOWTRACE_PROVIDERS: JSON.stringify({
        a: { kind: 'anthropic' },
        b: { kind: 'simulated', apiKey: 'sk-secret-value' },
        c: { kind: 'openai', baseUrl: 'ftp://x' },
        d: { kind: 'mistral' },
      }),
    });
    expect(message).toContain('FLOWTRACE_PROVIDERS.a.apiKey: an anthropic provider needs an apiKey');
    expect(message).toContain('FLOWTRACE_PROVIDERS.b.apiKey: a simulated provider makes no network calls');
    expect(message).toContain('FLOWTRACE_PROVIDERS.c.baseUrl: must be an http(s) URL');
    expect(message).toContain('FLOWTRACE_PROVIDERS.d.kind');
    expect(message).not.toContain('sk-secret');
  });
});

describe('prices', () => {
  it('reads FLOWTRACE_PRICING as an array or a versioned object', () => {
    expect(
      loadExecutorsConfig({
        FLOWTRACE_PRICING: '[{"provider":"openai","model":"gpt-x","input":1,"output":2}]',
      }).pricing,
    ).toEqual({ prices: [{ provider: 'openai', model: 'gpt-x', input: 1, output: 2 }] });
    expect(
      loadExecutorsConfig({
        FLOWTRACE_PRICING:
          '{"version":"v7","prices":[{"provider":"a","model":"b","input":1,"output":2,"cachedInput":0.5}]}',
      }).pricing,
    ).toEqual({
      version: 'v7',
      prices: [{ provider: 'a', model: 'b', input: 1, output: 2, cachedInput: 0.5 }],
    });
  });

  it('rejects invalid JSON, invalid prices and dates that are not dates', () => {
    expect(problem({ FLOWTRACE_PRICING: '{' })).toContain('FLOWTRACE_PRICING: is not valid JSON');
    expect(problem({ FLOWTRACE_PRICING: '[{"provider":"a","model":"b","input":-1,"output":2}]' })).toMatch(
      /FLOWTRACE_PRICING\.prices\.0\.input: Too small/,
    );
    expect(
      problem({
        FLOWTRACE_PRICING: '[{"provider":"a","model":"b","input":1,"output":2,"effectiveFrom":"soon"}]',
      }),
    ).toContain('FLOWTRACE_PRICING.prices.0.effectiveFrom: must be an ISO date or timestamp');
  });
});

describe('content capture', () => {
  it('is off by default and turns on with the OpenTelemetry GenAI variable', () => {
    const enabled = (value: string) =>
      loadExecutorsConfig({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: value }).capture.enabled;
    expect(enabled('false')).toBe(false);
    expect(enabled('TRUE')).toBe(true);
    expect(enabled('span_only')).toBe(true);
  });

  it('reads patterns (a comma list or a JSON array) and the length', () => {
    expect(
      loadExecutorsConfig({
        FLOWTRACE_REDACT_PATTERNS: 'acct-\\d+, \\b\\d{16}\\b',
        FLOWTRACE_CAPTURE_MAX_LENGTH: '2000',
      }).capture,
    ).toEqual({ enabled: false, maxLength: 2000, redact: ['acct-\\d+', '\\b\\d{16}\\b'] });
    expect(loadExecutorsConfig({ FLOWTRACE_REDACT_PATTERNS: '["a{2,},b", "c"]' }).capture.redact).toEqual([
      'a{2,},b',
      'c',
    ]);
  });

  it('rejects an invalid pattern or length instead of silently not redacting', () => {
    expect(problem({ FLOWTRACE_REDACT_PATTERNS: '(unclosed' })).toContain(
      'FLOWTRACE_REDACT_PATTERNS: invalid redact pattern /(unclosed/',
    );
    expect(problem({ FLOWTRACE_REDACT_PATTERNS: '["a", 1]' })).toContain(
      'FLOWTRACE_REDACT_PATTERNS: must be a JSON array of strings',
    );
    expect(problem({ FLOWTRACE_CAPTURE_MAX_LENGTH: '-1' })).toContain(
      'FLOWTRACE_CAPTURE_MAX_LENGTH: must be a whole number of at least 1',
    );
  });
});

describe('connectors', () => {
  it('reads the SSRF allow-lists, refusing a malformed range', () => {
    expect(
      loadExecutorsConfig({
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: ' api.internal , *.svc ,',
        FLOWTRACE_CONNECTOR_ALLOWED_CIDRS: '10.0.0.0/8,::1',
      }).ssrf,
    ).toEqual({ allowedHosts: ['api.internal', '*.svc'], allowedCidrs: ['10.0.0.0/8', '::1'] });
    expect(problem({ FLOWTRACE_CONNECTOR_ALLOWED_CIDRS: '10.0.0.0/8, 10.0.0.0/99' })).toMatch(
      /FLOWTRACE_CONNECTOR_ALLOWED_CIDRS: "10\.0\.0\.0\/99"/,
    );
  });

  it('takes whole byte counts up to the ceiling as the response limit', () => {
    expect(loadExecutorsConfig({ FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: '1048576' }).connector).toEqual({
      maxResponseBytes: MiB,
    });
    for (const bad of ['0', '-1', '1.5', '5MiB', String(MAX_RESPONSE_BYTES_CEILING + 1)]) {
      expect(problem({ FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: bad }), bad).toContain(
        'FLOWTRACE_CONNECTOR_MAX_RESPONSE_BYTES: must be a whole number of bytes from 1 to 52428800',
      );
    }
  });

  it('reads FLOWTRACE_CREDENTIALS, refusing a credential without hosts and never quoting the text', () => {
    const { credentials } = loadExecutorsConfig({
      FLOWTRACE_CREDENTIALS: JSON.stringify({
        crm: { headers: { authorization: 'Bearer xyz' }, hosts: ['crm.example.com'] },
      }),
    });
    expect(credentials.grant('crm').headers).toEqual({ authorization: 'Bearer xyz' });
    expect(
      problem({
        FLOWTRACE_CREDENTIALS: JSON.stringify({ crm: { headers: { authorization: 'Bearer xyz-secret' } } }),
      }),
    ).toMatch(/ {2}FLOWTRACE_CREDENTIALS: invalid credentials configuration: crm\.hosts: is required/);
    const invalid = problem({ FLOWTRACE_CREDENTIALS: '{"crm": top-secret-value' });
    expect(invalid).toContain('FLOWTRACE_CREDENTIALS: is not valid JSON');
    expect(invalid).not.toContain('top-secret');
  });
});

describe('embeddings', () => {
  it('uses the offline embedder by default, and the OpenAI variables as the openai one’s fallback', () => {
    expect(loadExecutorsConfig({ FLOWTRACE_EMBEDDINGS_DIMENSIONS: '64' }).embeddings).toEqual({
      provider: 'offline',
      dimensions: 64,
    });
    expect(
      loadExecutorsConfig({
        FLOWTRACE_EMBEDDINGS_PROVIDER: 'openai',
        OPENAI_API_KEY: 'sk-shared',
        OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      }).embeddings,
    ).toEqual({
      provider: 'openai',
      model: 'text-embedding-3-small',
      dimensions: 1536,
      batchSize: 64,
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: 'sk-shared',
    });
    expect(
      loadExecutorsConfig({
        FLOWTRACE_EMBEDDINGS_PROVIDER: 'openai',
        FLOWTRACE_EMBEDDINGS_MODEL: 'nomic-embed-text',
        FLOWTRACE_EMBEDDINGS_DIMENSIONS: '768',
        FLOWTRACE_EMBEDDINGS_BASE_URL: 'http://embed.internal/v1',
        FLOWTRACE_EMBEDDINGS_API_KEY: 'sk-embed',
        FLOWTRACE_EMBEDDINGS_BATCH_SIZE: '16',
        OPENAI_API_KEY: 'sk-shared',
      }).embeddings,
    ).toEqual({
      provider: 'openai',
      model: 'nomic-embed-text',
      dimensions: 768,
      batchSize: 16,
      baseUrl: 'http://embed.internal/v1',
      apiKey: 'sk-embed',
    });
  });

  it('refuses sizes out of range', () => {
    expect(problem({ FLOWTRACE_EMBEDDINGS_DIMENSIONS: '4' })).toContain(
      'FLOWTRACE_EMBEDDINGS_DIMENSIONS: must be a whole number from 8 to 2000',
    );
    expect(problem({ FLOWTRACE_EMBEDDINGS_BATCH_SIZE: '0' })).toContain('FLOWTRACE_EMBEDDINGS_BATCH_SIZE');
  });

  it('gives the API the same embedder and prices from its subset', () => {
    const env = {
      FLOWTRACE_EMBEDDINGS_PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-shared',
      FLOWTRACE_PRICING: '[{"provider":"openai","model":"text-embedding-3-small","input":0.02,"output":0}]',
    };
    const ingestion = ingestionConfigFromEnv(z.object(ingestionEnv).parse(env));
    const executors = loadExecutorsConfig(env);
    expect(ingestion).toEqual({ pricing: executors.pricing, embeddings: executors.embeddings });
  });
});
