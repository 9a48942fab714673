import {
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_SIMULATED,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from '@flowtrace/telemetry/semconv';
import type { ModelPrice } from './pricing.ts';

const openai = GEN_AI_PROVIDER_NAME_VALUE_OPENAI;
const anthropic = GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC;

/**
 * Built-in list prices (standard tier, USD per 1M tokens) as published by the providers. Check them
 * against the providers' pricing pages before relying on the numbers; extend or override them with
 * `FLOWTRACE_PRICING` rather than editing this table in a deployment.
 */
export const DEFAULT_PRICES: readonly ModelPrice[] = [
  { provider: openai, model: 'gpt-5', input: 1.25, output: 10, cachedInput: 0.125 },
  { provider: openai, model: 'gpt-5-mini', input: 0.25, output: 2, cachedInput: 0.025 },
  { provider: openai, model: 'gpt-5-nano', input: 0.05, output: 0.4, cachedInput: 0.005 },
  { provider: openai, model: 'gpt-4.1', input: 2, output: 8, cachedInput: 0.5 },
  { provider: openai, model: 'gpt-4.1-mini', input: 0.4, output: 1.6, cachedInput: 0.1 },
  { provider: openai, model: 'gpt-4.1-nano', input: 0.1, output: 0.4, cachedInput: 0.025 },
  { provider: openai, model: 'gpt-4o', input: 2.5, output: 10, cachedInput: 1.25 },
  { provider: openai, model: 'gpt-4o-mini', input: 0.15, output: 0.6, cachedInput: 0.075 },
  { provider: openai, model: 'o3', input: 2, output: 8, cachedInput: 0.5 },
  { provider: openai, model: 'o4-mini', input: 1.1, output: 4.4, cachedInput: 0.275 },
  // Anthropic: cache reads at 0.1x input, 5-minute cache writes at 1.25x input.
  { provider: anthropic, model: 'claude-opus-4-7', input: 5, output: 25, cachedInput: 0.5, cacheWrite: 6.25 },
  { provider: anthropic, model: 'claude-opus-4-6', input: 5, output: 25, cachedInput: 0.5, cacheWrite: 6.25 },
  { provider: anthropic, model: 'claude-opus-4-5', input: 5, output: 25, cachedInput: 0.5, cacheWrite: 6.25 },
  {
    provider: anthropic,
    model: 'claude-opus-4-1',
    input: 15,
    output: 75,
    cachedInput: 1.5,
    cacheWrite: 18.75,
  },
  {
    provider: anthropic,
    model: 'claude-sonnet-4-6',
    input: 3,
    output: 15,
    cachedInput: 0.3,
    cacheWrite: 3.75,
  },
  {
    provider: anthropic,
    model: 'claude-sonnet-4-5',
    input: 3,
    output: 15,
    cachedInput: 0.3,
    cacheWrite: 3.75,
  },
  { provider: anthropic, model: 'claude-sonnet-4', input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  { provider: anthropic, model: 'claude-haiku-4-5', input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25 },
  // The simulated provider: a deliberately round, fake price so that demos show non-zero costs that
  // nobody mistakes for a real bill.
  { provider: GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_SIMULATED, model: '*', input: 1, output: 2 },
];
