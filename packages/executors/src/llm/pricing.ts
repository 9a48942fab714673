import type { Logger } from '@flowtrace/workflow';
import { z } from 'zod';
import {
  GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC,
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_SIMULATED,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from '../semconv.ts';
import type { ChatUsage } from './provider.ts';

/**
 * Version of the built-in table, stored with every cost row (`model_cost_logs.pricing_version`) so that a
 * cost can be traced back to the prices that produced it. Bump it whenever a price changes.
 */
export const PRICING_VERSION = '2026-11-01';

/** Prices in USD per 1M tokens. */
export interface ModelPrice {
  /** `gen_ai.provider.name` of the provider (`openai`, `anthropic`, ...). */
  provider: string;
  /** The model name, or `*` for every model of the provider. */
  model: string;
  /**
   * `exact` (default) also matches dated variants (`gpt-4o-2024-08-06`, `claude-haiku-4-5-20251001`);
   * `prefix` matches every model name that starts with `model` (longest prefix wins).
   */
  match?: 'exact' | 'prefix' | undefined;
  input: number;
  output: number;
  /** Input tokens read from the prompt cache; defaults to `input`. */
  cachedInput?: number | undefined;
  /** Input tokens written to the prompt cache; defaults to `input`. */
  cacheWrite?: number | undefined;
  /** Reasoning output tokens; defaults to `output` (both providers bill them as output). */
  reasoning?: number | undefined;
}

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

/** Providers billed at another provider's prices when they have none of their own. */
const PROVIDER_PRICE_ALIASES: Readonly<Record<string, string>> = {
  [GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI]: openai,
};

/** Dated variants: `-2024-08-06`, `-20251001`, `@20250929` (Vertex-style). */
const DATE_SUFFIX = /[-@](\d{4}-\d{2}-\d{2}|\d{8})$/;

export interface PricingOverrides {
  /** Recorded as the pricing version of costs computed with the overrides (default `<built-in>+custom`). */
  version?: string | undefined;
  prices: ModelPrice[];
}

export interface CostResult {
  /** USD, or null when the model has no price. */
  costUsd: number | null;
  pricingVersion: string;
}

/** The token counts a cost needs; missing breakdowns count as zero. */
export type CostUsage = Pick<ChatUsage, 'inputTokens' | 'outputTokens'> &
  Partial<Pick<ChatUsage, 'cachedInputTokens' | 'cacheCreationInputTokens' | 'reasoningTokens'>>;

export interface PricingTableOptions {
  overrides?: PricingOverrides | undefined;
  /** Warned once per provider and model without a price. */
  logger?: Logger | undefined;
}

/** The built-in prices, optionally extended or overridden; computes the cost of a call. */
export class PricingTable {
  readonly version: string;
  readonly #exact = new Map<string, ModelPrice>();
  readonly #prefixes: ModelPrice[] = [];
  readonly #logger: Logger | undefined;
  readonly #warned = new Set<string>();

  constructor(options: PricingTableOptions = {}) {
    const overrides = options.overrides;
    this.version =
      overrides === undefined || overrides.prices.length === 0
        ? PRICING_VERSION
        : (overrides.version ?? `${PRICING_VERSION}+custom`);
    this.#logger = options.logger;
    for (const price of [...DEFAULT_PRICES, ...(overrides?.prices ?? [])]) {
      if (price.match === 'prefix') {
        const index = this.#prefixes.findIndex(
          (p) => p.provider === price.provider && p.model === price.model,
        );
        if (index >= 0) this.#prefixes.splice(index, 1);
        this.#prefixes.push(price);
      } else {
        this.#exact.set(key(price.provider, price.model), price);
      }
    }
    // Longest prefix first.
    this.#prefixes.sort((a, b) => b.model.length - a.model.length);
  }

  /** The price of a model: exact name, then its undated name, then the longest prefix, then `*`. */
  priceFor(provider: string, model: string): ModelPrice | undefined {
    for (const candidate of [provider, PROVIDER_PRICE_ALIASES[provider]]) {
      if (candidate === undefined) continue;
      const price =
        this.#exact.get(key(candidate, model)) ??
        this.#exact.get(key(candidate, model.replace(DATE_SUFFIX, ''))) ??
        this.#prefixes.find((p) => p.provider === candidate && model.startsWith(p.model)) ??
        this.#exact.get(key(candidate, '*'));
      if (price !== undefined) return price;
    }
    return undefined;
  }

  /**
   * Cost of one call. `model` may list candidates, tried in order (the response model, which is often
   * the dated variant actually used, then the requested one). No price: null cost and one warning per
   * provider and model, never an exception.
   */
  computeCost(
    provider: string,
    model: string | readonly (string | null | undefined)[],
    usage: CostUsage,
  ): CostResult {
    const candidates = (typeof model === 'string' ? [model] : model).filter(
      (m): m is string => typeof m === 'string' && m.length > 0,
    );
    for (const candidate of candidates) {
      const price = this.priceFor(provider, candidate);
      if (price !== undefined) return { costUsd: costOf(price, usage), pricingVersion: this.version };
    }
    const label = candidates[0] ?? '(none)';
    const warnKey = key(provider, label);
    if (!this.#warned.has(warnKey)) {
      this.#warned.add(warnKey);
      this.#logger?.warn(
        { provider, model: label, pricingVersion: this.version },
        'no price for this model: its calls are recorded with a null cost (add it with FLOWTRACE_PRICING)',
      );
    }
    return { costUsd: null, pricingVersion: this.version };
  }
}

export function createPricingTable(options: PricingTableOptions = {}): PricingTable {
  return new PricingTable(options);
}

function costOf(price: ModelPrice, usage: CostUsage): number {
  const cached = usage.cachedInputTokens ?? 0;
  const cacheWrite = usage.cacheCreationInputTokens ?? 0;
  const reasoning = Math.min(usage.reasoningTokens ?? 0, usage.outputTokens);
  const uncachedInput = Math.max(0, usage.inputTokens - cached - cacheWrite);
  const micros =
    uncachedInput * price.input +
    cached * (price.cachedInput ?? price.input) +
    cacheWrite * (price.cacheWrite ?? price.input) +
    (usage.outputTokens - reasoning) * price.output +
    reasoning * (price.reasoning ?? price.output);
  // Round away float noise (1e-12 USD) so that stored costs compare and sum cleanly.
  return Math.round((micros / 1_000_000) * 1e12) / 1e12;
}

function key(provider: string, model: string): string {
  return `${provider}\u0000${model}`;
}

const priceSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  match: z.enum(['exact', 'prefix']).optional(),
  input: z.number().min(0),
  output: z.number().min(0),
  cachedInput: z.number().min(0).optional(),
  cacheWrite: z.number().min(0).optional(),
  reasoning: z.number().min(0).optional(),
});

/** `FLOWTRACE_PRICING`: a JSON array of prices, or `{ "version": "...", "prices": [...] }`. */
export const pricingOverridesSchema = z.union([
  z.array(priceSchema).transform((prices): PricingOverrides => ({ prices })),
  z.strictObject({ version: z.string().min(1).max(100).optional(), prices: z.array(priceSchema) }),
]);

/** Reads `FLOWTRACE_PRICING`; undefined when unset. Throws a message naming the problem when invalid. */
export function parsePricingFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): PricingOverrides | undefined {
  const raw = env.FLOWTRACE_PRICING?.trim();
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('FLOWTRACE_PRICING is not valid JSON');
  }
  const result = pricingOverridesSchema.safeParse(json);
  if (!result.success) throw new Error(`invalid FLOWTRACE_PRICING:\n${z.prettifyError(result.error)}`);
  return result.data;
}
