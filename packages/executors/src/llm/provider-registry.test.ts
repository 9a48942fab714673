import { PermanentNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { AnthropicProvider } from './anthropic-provider.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import { parseProvidersConfig, parseProvidersFromEnv } from './provider-config.ts';
import { createProviderRegistry } from './provider-registry.ts';
import { SimulatedProvider } from './simulated-provider.ts';

describe('parseProvidersFromEnv', () => {
  it('always registers the simulated provider', () => {
    expect(parseProvidersFromEnv({})).toEqual({ simulated: { kind: 'simulated' } });
  });

  it('registers openai and anthropic from their conventional variables', () => {
    const config = parseProvidersFromEnv({
      OPENAI_API_KEY: 'sk-openai',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      ANTHROPIC_API_KEY: 'sk-ant',
      ANTHROPIC_BASE_URL: 'https://anthropic.internal',
    });
    expect(config).toEqual({
      openai: { kind: 'openai', apiKey: 'sk-openai', baseUrl: 'http://127.0.0.1:11434/v1' },
      anthropic: { kind: 'anthropic', apiKey: 'sk-ant', baseUrl: 'https://anthropic.internal' },
      simulated: { kind: 'simulated' },
    });
  });

  it('registers a keyless OpenAI-compatible server from OPENAI_BASE_URL alone, but no keyless anthropic', () => {
    const config = parseProvidersFromEnv({
      OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1',
      ANTHROPIC_BASE_URL: 'https://x',
    });
    expect(config.openai).toEqual({ kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1' });
    expect(config.anthropic).toBeUndefined();
  });

  it('reads named providers from FLOWTRACE_PROVIDERS, which win over the conveniences', () => {
    const config = parseProvidersFromEnv({
      FLOWTRACE_PROVIDERS: JSON.stringify({
        openai: { kind: 'openai', apiKey: 'sk-json', maxConcurrency: 4, requestsPerSecond: 2 },
        local: { kind: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', genAiProviderName: 'ollama' },
        simulated: { kind: 'simulated', simulated: { latencyMs: 250, jitterMs: 50, outputTokens: 32 } },
      }),
      OPENAI_API_KEY: 'sk-env',
    });
    expect(config.openai).toEqual({
      kind: 'openai',
      apiKey: 'sk-json',
      maxConcurrency: 4,
      requestsPerSecond: 2,
    });
    expect(config.local?.genAiProviderName).toBe('ollama');
    expect(config.simulated?.simulated).toEqual({ latencyMs: 250, jitterMs: 50, outputTokens: 32 });
  });

  it('explains invalid configuration without echoing secrets', () => {
    expect(() =>
      parseProvidersFromEnv({ FLOWTRACE_PROVIDERS: '{"a": {"kind": "openai", "apiKey": "sk-secret"' }),
    ).toThrow(/FLOWTRACE_PROVIDERS is not valid JSON/);
    let message = '';
    try {
      parseProvidersFromEnv({
        FLOWTRACE_PROVIDERS: JSON.stringify({
          a: { kind: 'anthropic' },
          b: { kind: 'simulated', apiKey: 'sk-secret-value' },
          c: { kind: 'openai', baseUrl: 'ftp://x' },
          d: { kind: 'mistral' },
        }),
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('an anthropic provider needs an apiKey');
    expect(message).toContain('a simulated provider makes no network calls');
    expect(message).toMatch(/c\.baseUrl|baseUrl/);
    expect(message).toMatch(/d\.kind|kind/);
    expect(message).not.toContain('sk-secret-value');
  });
});

describe('createProviderRegistry', () => {
  const registry = createProviderRegistry({
    openai: { kind: 'openai', apiKey: 'sk-openai-key', baseUrl: 'http://127.0.0.1:9/v1' },
    azure: {
      kind: 'openai',
      baseUrl: 'https://acme.openai.azure.com/openai/v1',
      headers: { 'api-key': 'azure-secret-key', 'x-route': 'eu' },
    },
    anthropic: { kind: 'anthropic', apiKey: 'sk-ant-key' },
    simulated: { kind: 'simulated' },
    limited: { kind: 'simulated', maxConcurrency: 1 },
  });

  it('builds each provider once, by kind', () => {
    expect(registry.get('openai')).toBeInstanceOf(OpenAiCompatibleProvider);
    expect(registry.get('openai')).toBe(registry.get('openai'));
    expect(registry.get('anthropic')).toBeInstanceOf(AnthropicProvider);
    expect(registry.get('simulated')).toBeInstanceOf(SimulatedProvider);
    expect(registry.get('azure').genAiProviderName).toBe('azure.ai.openai');
    // Limits wrap the provider but keep its identity for telemetry.
    expect(registry.get('limited').genAiProviderName).toBe('flowtrace.simulated');
    expect(registry.names()).toEqual(['anthropic', 'azure', 'limited', 'openai', 'simulated']);
  });

  it('rejects an unknown provider permanently, listing the configured ones', () => {
    let error: unknown;
    try {
      registry.get('mistral');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toBe(
      'provider "mistral" is not configured on this worker; configured providers: anthropic, azure, limited, openai, simulated',
    );
  });

  it('exposes every credential value for redaction', () => {
    expect(registry.secrets().sort()).toEqual(['azure-secret-key', 'sk-ant-key', 'sk-openai-key']);
  });

  it('validates plain objects', () => {
    expect(() => createProviderRegistry({ x: { kind: 'openai', maxConcurrency: 0 } })).toThrow(
      /maxConcurrency/,
    );
    expect(parseProvidersConfig({ x: { kind: 'openai', maxConcurrency: '3' } }).x?.maxConcurrency).toBe(3);
  });
});
