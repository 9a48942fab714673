import { parseWorkflowDefinition } from '@flowtrace/workflow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackoffSettings, DEFAULT_RETRY } from './catalogue.ts';
import { backoffDelay, retrySettingsFor } from './retry-settings.ts';

/** One node of the given type, parsed as the API parses it (schema defaults applied). */
function node(type: 'llm' | 'connector', retry?: unknown) {
  const config =
    type === 'llm'
      ? { provider: 'simulated', model: 'sim', prompt: 'p' }
      : { method: 'GET', url: 'https://example.com/' };
  const [parsed] = parseWorkflowDefinition({
    name: 'retry',
    nodes: [{ id: 'n', type, config, ...(retry === undefined ? {} : { retry }) }],
  }).nodes;
  if (parsed === undefined) throw new Error('no node parsed');
  return parsed;
}

const noJitter = (delayMs: number, maxDelayMs: number, type: BackoffSettings['type'] = 'exponential') => ({
  type,
  delayMs,
  maxDelayMs,
  jitter: 0,
});

describe('retrySettingsFor', () => {
  it("fills in the node type's defaults: exponential, 20% jitter", () => {
    expect(retrySettingsFor(node('llm'))).toEqual({
      maxAttempts: DEFAULT_RETRY.llm.attempts,
      backoff: {
        type: 'exponential',
        delayMs: DEFAULT_RETRY.llm.delayMs,
        maxDelayMs: DEFAULT_RETRY.llm.maxDelayMs,
        jitter: 0.2,
      },
    });
    expect(retrySettingsFor(node('connector')).backoff.delayMs).toBe(DEFAULT_RETRY.connector.delayMs);
  });

  it("takes the node's own policy, keeping the type's ceiling where the node sets none", () => {
    const settings = retrySettingsFor(
      node('connector', { attempts: 5, backoff: { type: 'fixed', delayMs: 250, jitter: 0 } }),
    );
    expect(settings).toEqual({
      maxAttempts: 5,
      backoff: { type: 'fixed', delayMs: 250, maxDelayMs: DEFAULT_RETRY.connector.maxDelayMs, jitter: 0 },
    });
  });
});

describe('backoffDelay', () => {
  it('doubles the delay per retry up to the ceiling', () => {
    const settings = noJitter(100, 1_000);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(settings, n, undefined))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('treats a count below one as the first retry', () => {
    expect(backoffDelay(noJitter(100, 1_000), 0, undefined)).toBe(100);
  });

  it('waits the same for every retry when fixed, whatever the ceiling', () => {
    const settings = noJitter(300, 100, 'fixed');
    expect([1, 5, 20].map((n) => backoffDelay(settings, n, undefined))).toEqual([300, 300, 300]);
  });

  it('takes off up to the jitter fraction of the delay, rounded to whole milliseconds', () => {
    const settings = { type: 'exponential', delayMs: 1_000, maxDelayMs: 10_000, jitter: 0.5 } as const;
    expect(backoffDelay(settings, 1, undefined, () => 0)).toBe(1_000);
    expect(backoffDelay(settings, 1, undefined, () => 0.5)).toBe(750);
    expect(backoffDelay(settings, 1, undefined, () => 0.998)).toBe(501);
    expect(backoffDelay({ ...settings, delayMs: 3 }, 1, undefined, () => 0.5)).toBe(2);
  });

  it("waits for a server's Retry-After when it asks for longer, and ignores it when shorter", () => {
    const settings = noJitter(100, 1_000);
    expect(backoffDelay(settings, 1, 5_000)).toBe(5_000);
    expect(backoffDelay(settings, 3, 10)).toBe(400);
    expect(backoffDelay(settings, 1, 0)).toBe(100);
  });

  const policies = fc.record({
    type: fc.constantFrom('fixed' as const, 'exponential' as const),
    delayMs: fc.integer({ min: 0, max: 3_600_000 }),
    maxDelayMs: fc.integer({ min: 0, max: 3_600_000 }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  const retries = fc.integer({ min: 0, max: 100 });
  const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('without jitter, never shrinks from one retry to the next and never passes the ceiling', () => {
    fc.assert(
      fc.property(policies, retries, (policy, n) => {
        const settings = { ...policy, jitter: 0 };
        const now = backoffDelay(settings, n, undefined);
        const next = backoffDelay(settings, n + 1, undefined);
        expect(next).toBeGreaterThanOrEqual(now);
        if (policy.type === 'fixed') expect(next).toBe(policy.delayMs);
        else expect(next).toBeLessThanOrEqual(Math.min(policy.maxDelayMs, 2 * Math.max(now, policy.delayMs)));
      }),
    );
  });

  it('with jitter, lands between (1 − jitter) × the jitter-free delay and that delay', () => {
    fc.assert(
      fc.property(policies, retries, randoms, (policy, n, random) => {
        const full = backoffDelay({ ...policy, jitter: 0 }, n, undefined);
        const delay = backoffDelay(policy, n, undefined, () => random);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeLessThanOrEqual(full);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(full * (1 - policy.jitter)));
      }),
    );
  });
});
