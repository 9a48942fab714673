import type { Sql } from '@flowtrace/db';
import type { Logger } from '@flowtrace/workflow';

/** A price row of `model_prices` (USD per 1M tokens), in the shape the executors' price table takes. */
export interface StoredModelPrice {
  provider: string;
  model: string;
  match: 'exact' | 'prefix';
  input: number;
  output: number;
  cachedInput?: number | undefined;
  cacheWrite?: number | undefined;
  reasoning?: number | undefined;
  /** ISO timestamp from which the price applies. */
  effectiveFrom: string;
}

interface PriceRow {
  provider: string;
  model: string;
  match: string;
  effective_from: Date;
  input: string;
  output: string;
  cached_input: string | null;
  cache_write: string | null;
  reasoning: string | null;
}

/**
 * Dated model prices in Postgres (`model_prices`), which override the built-in table and
 * `FLOWTRACE_PRICING` from their effective date. Rows are only added, never changed, so that the price
 * behind any cost row can be found again (its `pricing_version` is `db@<effective from>`).
 */
export class ModelPriceStore {
  readonly #sql: Sql;

  constructor(deps: { sql: Sql }) {
    this.#sql = deps.sql;
  }

  async list(): Promise<StoredModelPrice[]> {
    const rows = await this.#sql<PriceRow[]>`
      select provider, model, match, effective_from, input, output, cached_input, cache_write, reasoning
      from model_prices order by provider, model, match, effective_from`;
    return rows.map((r) => ({
      provider: r.provider,
      model: r.model,
      match: r.match === 'prefix' ? 'prefix' : 'exact',
      input: Number(r.input),
      output: Number(r.output),
      ...(r.cached_input === null ? {} : { cachedInput: Number(r.cached_input) }),
      ...(r.cache_write === null ? {} : { cacheWrite: Number(r.cache_write) }),
      ...(r.reasoning === null ? {} : { reasoning: Number(r.reasoning) }),
      effectiveFrom: r.effective_from.toISOString(),
    }));
  }

  /** Adds a price from `effectiveFrom` on; false when that provider, model and date already have one. */
  async add(price: StoredModelPrice): Promise<boolean> {
    const rows = await this.#sql`
      insert into model_prices (provider, model, match, effective_from, input, output, cached_input, cache_write, reasoning)
      values (${price.provider}, ${price.model}, ${price.match}, ${price.effectiveFrom}, ${price.input}, ${price.output},
        ${price.cachedInput ?? null}, ${price.cacheWrite ?? null}, ${price.reasoning ?? null})
      on conflict do nothing
      returning 1`;
    return rows.length > 0;
  }

  /**
   * Loads the prices into `table` now and every `intervalMs` (a new price reaches every process within
   * that time). Returns a function that stops the refresh.
   */
  async keepFresh(
    table: { setDatabasePrices(prices: readonly StoredModelPrice[]): void },
    options: { intervalMs: number; logger?: Logger },
  ): Promise<() => void> {
    const load = async () => {
      try {
        table.setDatabasePrices(await this.list());
      } catch (error) {
        // The last prices loaded stay in effect.
        options.logger?.warn({ err: error }, 'could not load model prices from the database');
      }
    };
    await load();
    const timer = setInterval(() => void load(), options.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
