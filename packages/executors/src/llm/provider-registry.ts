import type { Logger } from '@flowtrace/workflow';
import { PermanentNodeError } from '@flowtrace/workflow';
import { AnthropicProvider } from './anthropic-provider.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import type { ChatProvider } from './provider.ts';
import { type ProviderConfig, type ProvidersConfigInput, parseProvidersConfig } from './provider-config.ts';
import { withLimits } from './rate-limiter.ts';
import { SimulatedProvider } from './simulated-provider.ts';

export interface ProviderRegistry {
  /** The named provider, with its limits applied; an unknown name is a PermanentNodeError. */
  get(name: string): ChatProvider;
  has(name: string): boolean;
  names(): string[];
  /**
   * Every configured credential value (API keys, values of auth-like headers), so that content capture
   * and error messages can redact them.
   */
  secrets(): string[];
}

export interface ProviderRegistryDeps {
  /** Receives the SDKs' warnings. */
  logger?: Logger | undefined;
  /**
   * `propagateTraceContext` for providers whose configuration does not set it: true in a process without
   * the HTTP instrumentation (the SDK is off), so provider calls still carry the run's trace context.
   */
  propagateTraceContext?: boolean | undefined;
}

/** Header names whose values are credentials. */
const SECRET_HEADER = /auth|key|token|secret|cookie|signature/i;

/** Builds every configured provider once; providers are shared by all nodes of the process. */
export function createProviderRegistry(
  config: ProvidersConfigInput,
  deps: ProviderRegistryDeps = {},
): ProviderRegistry {
  const parsed = parseProvidersConfig(config);
  const providers = new Map<string, ChatProvider>();
  const secrets = new Set<string>();
  for (const [name, entry] of Object.entries(parsed)) {
    const propagateTraceContext = entry.propagateTraceContext ?? deps.propagateTraceContext;
    providers.set(
      name,
      withLimits(buildProvider(name, { ...entry, propagateTraceContext }, deps.logger), entry),
    );
    if (entry.apiKey) secrets.add(entry.apiKey);
    for (const [header, value] of Object.entries(entry.headers ?? {})) {
      if (SECRET_HEADER.test(header) && value.length > 0) secrets.add(value);
    }
  }
  const names = [...providers.keys()].sort();
  return {
    get(name) {
      const provider = providers.get(name);
      if (provider === undefined) {
        throw new PermanentNodeError(
          'invalid_definition',
          `provider "${name}" is not configured on this worker; configured providers: ${
            names.length > 0 ? names.join(', ') : '(none)'
          }`,
          { details: { provider: name, configured: names } },
        );
      }
      return provider;
    },
    has: (name) => providers.has(name),
    names: () => [...names],
    secrets: () => [...secrets],
  };
}

function buildProvider(name: string, config: ProviderConfig, logger: Logger | undefined): ChatProvider {
  switch (config.kind) {
    case 'openai':
      return new OpenAiCompatibleProvider({
        name,
        baseUrl: config.baseUrl,
        apiKey: config.apiKey,
        headers: config.headers,
        timeoutMs: config.timeoutMs,
        maxResponseBytes: config.maxResponseBytes,
        genAiProviderName: config.genAiProviderName,
        maxTokensParam: config.maxTokensParam,
        propagateTraceContext: config.propagateTraceContext,
        logger,
      });
    case 'anthropic':
      return new AnthropicProvider({
        name,
        baseUrl: config.baseUrl,
        // The config schema requires a key for this kind.
        apiKey: config.apiKey ?? '',
        headers: config.headers,
        timeoutMs: config.timeoutMs,
        maxResponseBytes: config.maxResponseBytes,
        defaultMaxTokens: config.defaultMaxTokens,
        genAiProviderName: config.genAiProviderName,
        propagateTraceContext: config.propagateTraceContext,
        logger,
      });
    case 'simulated':
      return new SimulatedProvider(config.simulated);
  }
}
