import { PermanentNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { AnthropicProvider } from './anthropic-provider.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import { parseProvidersConfig } from './provider-config.ts';
import { createProviderRegistry } from './provider-registry.ts';
import { SimulatedProvider } from './simulated-provider.ts';

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
