import type { Logger } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { createPricingTable, PRICING_VERSION } from './pricing.ts';

function recordingLogger(): Logger & { warnings: { obj: object; msg?: string | undefined }[] } {
  const warnings: { obj: object; msg?: string | undefined }[] = [];
  const logger = {
    warnings,
    debug() {},
    info() {},
    warn(obj: object, msg?: string) {
      warnings.push({ obj, msg });
    },
    error() {},
    child() {
      return logger;
    },
  };
  return logger;
}

describe('PricingTable', () => {
  it('prices a known model', () => {
    const table = createPricingTable();
    // gpt-4o-mini: $0.15 in, $0.60 out per 1M.
    expect(
      table.computeCost('openai', 'gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 500_000 }),
    ).toEqual({
      costUsd: 0.45,
      pricingVersion: PRICING_VERSION,
    });
    expect(PRICING_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('prices dated variants at their base model', () => {
    const table = createPricingTable();
    const usage = { inputTokens: 2000, outputTokens: 1000 };
    expect(table.computeCost('openai', 'gpt-4o-mini-2024-07-18', usage)).toEqual(
      table.computeCost('openai', 'gpt-4o-mini', usage),
    );
    expect(table.computeCost('anthropic', 'claude-haiku-4-5-20251001', usage).costUsd).toBeCloseTo(0.007, 12);
    // A different model is not a dated variant: gpt-4.1-nano is not priced as gpt-4.1.
    expect(table.priceFor('openai', 'gpt-4.1-nano')?.input).toBe(0.1);
    expect(table.priceFor('openai', 'gpt-4.1-turbo')).toBeUndefined();
  });

  it('bills cached, cache-write and reasoning tokens at their own prices', () => {
    const table = createPricingTable();
    // claude-sonnet-4-6: in 3, out 15, cache read 0.3, cache write 3.75 (per 1M).
    const cost = table.computeCost('anthropic', 'claude-sonnet-4-6', {
      inputTokens: 1_000_000 + 2_000_000 + 100_000,
      cachedInputTokens: 2_000_000,
      cacheCreationInputTokens: 100_000,
      outputTokens: 10_000,
      reasoningTokens: 4_000,
    });
    expect(cost.costUsd).toBeCloseTo(3 + 0.6 + 0.375 + 0.15, 10);
  });

  it('returns a null cost and warns once per model when the model is unknown', () => {
    const logger = recordingLogger();
    const table = createPricingTable({ logger });
    const usage = { inputTokens: 10, outputTokens: 10 };
    expect(table.computeCost('openai', 'gpt-unknown', usage)).toEqual({
      costUsd: null,
      pricingVersion: PRICING_VERSION,
    });
    expect(table.computeCost('openai', 'gpt-unknown', usage).costUsd).toBeNull();
    expect(table.computeCost('vllm', 'llama-3', usage).costUsd).toBeNull();
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]?.obj).toMatchObject({ provider: 'openai', model: 'gpt-unknown' });
  });

  it('tries model candidates in order (response model, then request model)', () => {
    const table = createPricingTable();
    expect(
      table.computeCost('openai', ['my-azure-deployment', 'gpt-4o'], {
        inputTokens: 1_000_000,
        outputTokens: 0,
      }).costUsd,
    ).toBe(2.5);
    expect(
      table.computeCost('openai', [null, 'gpt-4o'], { inputTokens: 1_000_000, outputTokens: 0 }).costUsd,
    ).toBe(2.5);
  });

  it('prices Azure OpenAI at OpenAI prices and every simulated model at the fake price', () => {
    const table = createPricingTable();
    expect(table.priceFor('azure.ai.openai', 'gpt-4o')?.input).toBe(2.5);
    expect(
      table.computeCost('flowtrace.simulated', 'anything', {
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
      }).costUsd,
    ).toBe(3);
  });

  it('takes overrides and additions, with their own version', () => {
    const table = createPricingTable({
      overrides: {
        version: 'acme-2026-11',
        prices: [
          { provider: 'openai', model: 'gpt-4o', input: 1, output: 2 },
          { provider: 'vllm', model: 'llama-3', match: 'prefix', input: 0.1, output: 0.1 },
        ],
      },
    });
    expect(table.version).toBe('acme-2026-11');
    expect(table.computeCost('openai', 'gpt-4o', { inputTokens: 1_000_000, outputTokens: 0 })).toEqual({
      costUsd: 1,
      pricingVersion: 'acme-2026-11',
    });
    expect(table.priceFor('vllm', 'llama-3.1-8b-instruct')?.input).toBe(0.1);
    expect(
      createPricingTable({ overrides: { prices: [{ provider: 'x', model: 'y', input: 1, output: 1 }] } })
        .version,
    ).toBe(`${PRICING_VERSION}+custom`);
  });
});

describe('dated prices', () => {
  const usage = { inputTokens: 1_000_000, outputTokens: 0 };
  const before = new Date('2026-12-31T23:59:59.999Z');
  const after = new Date('2027-01-01T00:00:00.000Z');

  it('applies a price from its effective date and records which one priced each call', () => {
    const table = createPricingTable({
      overrides: {
        version: 'acme',
        prices: [{ provider: 'openai', model: 'gpt-4o', input: 2, output: 8, effectiveFrom: '2027-01-01' }],
      },
    });
    // Before the date the built-in price applies, from it the new one.
    expect(table.computeCost('openai', 'gpt-4o', usage, before)).toEqual({
      costUsd: 2.5,
      pricingVersion: PRICING_VERSION,
    });
    expect(table.computeCost('openai', 'gpt-4o-2024-08-06', usage, after)).toEqual({
      costUsd: 2,
      pricingVersion: 'acme@2027-01-01',
    });
  });

  it('keeps every dated entry so that past calls are priced as they were', () => {
    const table = createPricingTable({
      overrides: {
        prices: [
          {
            provider: 'vllm',
            model: 'llama',
            match: 'prefix',
            input: 1,
            output: 1,
            effectiveFrom: '2026-01-01',
          },
          {
            provider: 'vllm',
            model: 'llama',
            match: 'prefix',
            input: 3,
            output: 1,
            effectiveFrom: '2026-06-01',
          },
        ],
      },
    });
    expect(table.priceFor('vllm', 'llama-3', new Date('2025-12-31'))).toBeUndefined();
    expect(table.priceFor('vllm', 'llama-3', new Date('2026-03-01'))?.input).toBe(1);
    expect(table.priceFor('vllm', 'llama-3', new Date('2026-06-01T00:00:00Z'))?.input).toBe(3);
  });

  it('lets database prices override configuration and be replaced on refresh', () => {
    const table = createPricingTable({
      overrides: { version: 'cfg', prices: [{ provider: 'openai', model: 'gpt-4o', input: 1, output: 1 }] },
    });
    table.setDatabasePrices([
      { provider: 'openai', model: 'gpt-4o', input: 5, output: 5, effectiveFrom: '2027-01-01T12:00:00Z' },
    ]);
    expect(table.computeCost('openai', 'gpt-4o', usage, before).pricingVersion).toBe('cfg');
    expect(table.computeCost('openai', 'gpt-4o', usage, new Date('2027-01-01T12:00:00Z'))).toEqual({
      costUsd: 5,
      pricingVersion: 'db@2027-01-01T12:00:00.000Z',
    });
    table.setDatabasePrices([]);
    expect(table.computeCost('openai', 'gpt-4o', usage, after).costUsd).toBe(1);
  });
});
