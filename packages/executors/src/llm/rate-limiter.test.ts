import { describe, expect, it } from 'vitest';
import type { ChatProvider, ChatRequest, ChatResponse } from './provider.ts';
import { Semaphore, TokenBucket, withLimits } from './rate-limiter.ts';

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'x' }] };

function slowProvider(ms: number, counter: { active: number; max: number; calls: number }): ChatProvider {
  return {
    genAiProviderName: 'test',
    server: undefined,
    supportsTemperature: true,
    async chat(): Promise<ChatResponse> {
      counter.calls++;
      counter.active++;
      counter.max = Math.max(counter.max, counter.active);
      await new Promise((resolve) => setTimeout(resolve, ms));
      counter.active--;
      return {
        id: 'x',
        model: 'm',
        message: { text: 'ok', toolCalls: [] },
        finishReason: 'stop',
        providerFinishReason: 'stop',
        usage: {
          inputTokens: 1,
          outputTokens: 1,
          cachedInputTokens: 0,
          cacheCreationInputTokens: 0,
          reasoningTokens: 0,
        },
      };
    },
  };
}

describe('withLimits', () => {
  it('returns the provider itself when no limit is configured', () => {
    const provider = slowProvider(1, { active: 0, max: 0, calls: 0 });
    expect(withLimits(provider, {})).toBe(provider);
  });

  it('caps concurrent calls', async () => {
    const counter = { active: 0, max: 0, calls: 0 };
    const limited = withLimits(slowProvider(20, counter), { maxConcurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => limited.chat(request)));
    expect(counter.calls).toBe(6);
    expect(counter.max).toBe(2);
  });

  it('spaces calls beyond the burst to the configured rate', async () => {
    const counter = { active: 0, max: 0, calls: 0 };
    const limited = withLimits(slowProvider(0, counter), { requestsPerSecond: 20 });
    const started = performance.now();
    // Burst of 20, then 5 more at 20/s: about 250 ms.
    await Promise.all(Array.from({ length: 25 }, () => limited.chat(request)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('aborts a call waiting for a slot, and frees nothing it did not take', async () => {
    const counter = { active: 0, max: 0, calls: 0 };
    const limited = withLimits(slowProvider(100, counter), { maxConcurrency: 1 });
    const running = limited.chat(request);
    const controller = new AbortController();
    const waiting = limited.chat(request, { signal: controller.signal });
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    await running;
    await limited.chat(request);
    expect(counter.calls).toBe(2);
    expect(counter.max).toBe(1);
  });
});

describe('Semaphore', () => {
  it('hands permits to waiters in order and skips aborted ones', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const order: string[] = [];
    const controller = new AbortController();
    const a = semaphore.acquire().then(() => order.push('a'));
    const b = semaphore.acquire(controller.signal).catch(() => order.push('b aborted'));
    const c = semaphore.acquire().then(() => order.push('c'));
    controller.abort();
    await b;
    semaphore.release();
    await a;
    semaphore.release();
    await c;
    expect(order).toEqual(['b aborted', 'a', 'c']);
    expect(semaphore.waiting).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('gives back the token of an aborted wait', async () => {
    let now = 0;
    const bucket = new TokenBucket(1, 1, () => now);
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    now = 1000;
    // One token refilled and the aborted reservation returned: this take does not wait.
    await bucket.take();
  });
});
