import {
  GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI,
  GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
} from '@flowtrace/telemetry/semconv';
import type { Logger } from '@flowtrace/workflow';
import { z } from 'zod';
import { DEFAULT_PRICES } from './default-prices.ts';
import type { ChatUsage } from './provider.ts';

export { DEFAULT_PRICES };

/**
 * Version of the built-in table: the date its undated prices were checked. A cost row records the version
 * of the price it used (`model_cost_logs.pricing_version`): this for an undated built-in price,
 * `<label>@<date>` for a dated one (see `PricingTable`). A price change is a new entry with a later
 * `effectiveFrom`, never an edit, so that past rows can be priced again.
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
  /**
   * When the price starts to apply: an ISO date (`2027-01-01`, midnight UTC) or timestamp. Absent: it
   * always applied. A later entry for the same provider, model and match replaces it from its own date.
   */
  effectiveFrom?: string | undefined;
}

/** Providers billed at another provider's prices when they have none of their own. */
const PROVIDER_PRICE_ALIASES: Readonly<Record<string, string>> = {
  [GEN_AI_PROVIDER_NAME_VALUE_AZURE_AI_OPENAI]: GEN_AI_PROVIDER_NAME_VALUE_OPENAI,
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

/**
 * Where a price comes from. A higher layer wins over a lower one for the same provider, model and match
 * whenever it has an entry in effect: the database over configuration over the built-in table.
 */
export type PriceLayer = 'builtin' | 'config' | 'database';
const LAYER_RANK: Readonly<Record<PriceLayer, number>> = { builtin: 0, config: 1, database: 2 };

interface PriceEntry {
  price: ModelPrice;
  layer: PriceLayer;
  /** Epoch ms from which it applies (-Infinity when undated). */
  from: number;
  /** Recorded on the cost rows it priced. */
  version: string;
}

/** A price and the version recorded with the costs it computes. */
export interface DatedPrice {
  price: ModelPrice;
  version: string;
}

/**
 * The price table: built-in prices, optionally extended or overridden by configuration and by the
 * database, each price with the date it applies from. `computeCost` prices a call at the moment it was
 * made (now by default), so a price change can be applied from a given day and past rows reproduced.
 */
export class PricingTable {
  /** Label of the configured prices (the built-in version when there are none). */
  readonly version: string;
  readonly #configLabel: string;
  /** Entries by provider, model and match; each list sorted by layer, then date. */
  readonly #entries = new Map<string, PriceEntry[]>();
  #prefixes: { provider: string; model: string; key: string }[] = [];
  readonly #logger: Logger | undefined;
  readonly #warned = new Set<string>();

  constructor(options: PricingTableOptions = {}) {
    const overrides = options.overrides;
    this.#configLabel = overrides?.version ?? `${PRICING_VERSION}+custom`;
    this.version =
      overrides === undefined || overrides.prices.length === 0 ? PRICING_VERSION : this.#configLabel;
    this.#logger = options.logger;
    this.#setLayer('builtin', DEFAULT_PRICES);
    this.#setLayer('config', overrides?.prices ?? []);
  }

  /**
   * Replaces the prices read from the database (`model_prices`), e.g. on a periodic refresh. Their version
   * is `db@<effective from>`.
   */
  setDatabasePrices(prices: readonly ModelPrice[]): void {
    this.#setLayer('database', prices);
  }

  #setLayer(layer: PriceLayer, prices: readonly ModelPrice[]): void {
    for (const [key, list] of this.#entries) {
      const kept = list.filter((e) => e.layer !== layer);
      if (kept.length === 0) this.#entries.delete(key);
      else this.#entries.set(key, kept);
    }
    for (const price of prices) {
      const key = entryKey(price.provider, price.model, price.match ?? 'exact');
      const from =
        price.effectiveFrom === undefined ? Number.NEGATIVE_INFINITY : Date.parse(price.effectiveFrom);
      if (Number.isNaN(from))
        throw new Error(`invalid effectiveFrom "${price.effectiveFrom}" for ${price.model}`);
      const list = this.#entries.get(key) ?? [];
      // The same layer, key and date twice: the later one in the list wins.
      const same = list.findIndex((e) => e.layer === layer && e.from === from);
      if (same >= 0) list.splice(same, 1);
      list.push({ price, layer, from, version: versionOf(layer, price, this.#configLabel) });
      list.sort((a, b) => LAYER_RANK[a.layer] - LAYER_RANK[b.layer] || a.from - b.from);
      this.#entries.set(key, list);
    }
    const prefixes = new Map<string, { provider: string; model: string; key: string }>();
    for (const [key, list] of this.#entries) {
      const first = list[0]?.price;
      if (first?.match === 'prefix') prefixes.set(key, { provider: first.provider, model: first.model, key });
    }
    // Longest prefix first.
    this.#prefixes = [...prefixes.values()].sort((a, b) => b.model.length - a.model.length);
  }

  /** The price of a model at `at`: exact name, then its undated name, then the longest prefix, then `*`. */
  priceFor(provider: string, model: string, at: Date = new Date()): ModelPrice | undefined {
    return this.priceAt(provider, model, at)?.price;
  }

  /** Like `priceFor`, with the version recorded with the costs the price computes. */
  priceAt(provider: string, model: string, at: Date = new Date()): DatedPrice | undefined {
    const t = at.getTime();
    for (const candidate of [provider, PROVIDER_PRICE_ALIASES[provider]]) {
      if (candidate === undefined) continue;
      const entry =
        this.#inEffect(entryKey(candidate, model, 'exact'), t) ??
        this.#inEffect(entryKey(candidate, model.replace(DATE_SUFFIX, ''), 'exact'), t) ??
        this.#prefixEntry(candidate, model, t) ??
        this.#inEffect(entryKey(candidate, '*', 'exact'), t);
      if (entry !== undefined) return { price: entry.price, version: entry.version };
    }
    return undefined;
  }

  #prefixEntry(provider: string, model: string, t: number): PriceEntry | undefined {
    for (const prefix of this.#prefixes) {
      if (prefix.provider !== provider || !model.startsWith(prefix.model)) continue;
      const entry = this.#inEffect(prefix.key, t);
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  /** The entry of the highest layer that has one in effect at `t`; within a layer, the latest. */
  #inEffect(key: string, t: number): PriceEntry | undefined {
    const list = this.#entries.get(key);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i] as PriceEntry;
      if (entry.from <= t) return entry;
    }
    return undefined;
  }

  /**
   * Cost of one call made at `at` (default now). `model` may list candidates, tried in order (the response
   * model, which is often the dated variant actually used, then the requested one). No price: null cost
   * and one warning per provider and model, never an exception.
   */
  computeCost(
    provider: string,
    model: string | readonly (string | null | undefined)[],
    usage: CostUsage,
    at: Date = new Date(),
  ): CostResult {
    const candidates = (typeof model === 'string' ? [model] : model).filter(
      (m): m is string => typeof m === 'string' && m.length > 0,
    );
    for (const candidate of candidates) {
      const dated = this.priceAt(provider, candidate, at);
      if (dated !== undefined) return { costUsd: costOf(dated.price, usage), pricingVersion: dated.version };
    }
    const label = candidates[0] ?? '(none)';
    const warnKey = entryKey(provider, label, '');
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

function versionOf(layer: PriceLayer, price: ModelPrice, configLabel: string): string {
  const label = layer === 'builtin' ? PRICING_VERSION : layer === 'config' ? configLabel : 'db';
  if (price.effectiveFrom === undefined) return label;
  // A date at midnight UTC is written as the date alone.
  const iso = new Date(Date.parse(price.effectiveFrom)).toISOString();
  return `${label}@${iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso}`;
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

function entryKey(provider: string, model: string, match: string): string {
  return `${provider}\u0000${model}\u0000${match}`;
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
  effectiveFrom: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO date or timestamp')
    .optional(),
});

/** `FLOWTRACE_PRICING`: a JSON array of prices, or `{ "version": "...", "prices": [...] }`. */
export const pricingOverridesSchema = z.union([
  z.array(priceSchema).transform((prices): PricingOverrides => ({ prices })),
  z.strictObject({ version: z.string().min(1).max(100).optional(), prices: z.array(priceSchema) }),
]);
