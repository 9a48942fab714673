import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelPriceStore, type StoredModelPrice } from './model-price-store.ts';

describe('ModelPriceStore', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  const price = (effectiveFrom: string, input: number): StoredModelPrice => ({
    provider: 'openai',
    model: 'gpt-4o',
    match: 'exact',
    input,
    output: 8,
    cachedInput: 0.5,
    effectiveFrom,
  });

  it('adds dated prices, never replaces one, and loads them into a price table now and on refresh', async () => {
    const store = new ModelPriceStore({ sql: db.handle.sql });
    expect(await store.add(price('2027-01-01T00:00:00.000Z', 2))).toBe(true);
    // The same provider, model and date again is refused: a change is a new, later row.
    expect(await store.add(price('2027-01-01T00:00:00.000Z', 3))).toBe(false);
    expect(await store.add(price('2027-02-01T00:00:00.000Z', 1.5))).toBe(true);
    const loaded: StoredModelPrice[][] = [];
    const stop = await store.keepFresh(
      { setDatabasePrices: (prices) => void loaded.push([...prices]) },
      { intervalMs: 60_000 },
    );
    stop();
    expect(loaded).toEqual([
      [{ ...price('2027-01-01T00:00:00.000Z', 2) }, { ...price('2027-02-01T00:00:00.000Z', 1.5) }],
    ]);
  });
});
