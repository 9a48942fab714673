import { sleep } from './abortable-sleep.ts';
import type { ChatCallOptions, ChatProvider, ChatRequest, ChatResponse } from './provider.ts';

interface Waiter {
  resolve: () => void;
  signal?: AbortSignal | undefined;
  onAbort?: () => void;
}

/** A counting semaphore whose waits end early, with the signal's reason, when the caller aborts. */
export class Semaphore {
  #available: number;
  readonly #waiters: Waiter[] = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError('permits must be a positive integer');
    this.#available = permits;
  }

  get available(): number {
    return this.#available;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#available > 0) {
      this.#available--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) {
      this.#available++;
      return;
    }
    if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
    next.resolve();
  }
}

/**
 * A token bucket of `ratePerSecond` with a burst of `burst` tokens. Callers reserve a token on arrival
 * (the balance may go negative) and wait until their reservation is covered, so waiters are served in
 * arrival order; an aborted wait gives its token back.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;
  readonly #now: () => number;

  constructor(
    ratePerSecond: number,
    burst = Math.max(1, Math.ceil(ratePerSecond)),
    now: () => number = performance.now.bind(performance),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#updatedAt = now();
  }

  async take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.#refill();
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    const waitMs = (-this.#tokens / this.#rate) * 1000;
    try {
      await sleep(waitMs, signal);
    } catch (error) {
      this.#tokens += 1;
      throw error;
    }
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate);
    this.#updatedAt = now;
  }
}

export interface ProviderLimits {
  /** Most calls in flight at once, per worker process. */
  maxConcurrency?: number | undefined;
  /** Most calls started per second, per worker process. */
  requestsPerSecond?: number | undefined;
}

/**
 * Applies per-provider limits in front of a provider: a concurrency slot first, then a rate token. The
 * limits are per process; fleet-wide quotas are the provider's to enforce (its 429s are transient errors
 * with Retry-After, which the engine honours).
 */
export function withLimits(provider: ChatProvider, limits: ProviderLimits): ChatProvider {
  const semaphore = limits.maxConcurrency ? new Semaphore(limits.maxConcurrency) : undefined;
  const bucket = limits.requestsPerSecond ? new TokenBucket(limits.requestsPerSecond) : undefined;
  if (!semaphore && !bucket) return provider;
  return {
    genAiProviderName: provider.genAiProviderName,
    server: provider.server,
    supportsTemperature: provider.supportsTemperature,
    async chat(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResponse> {
      await semaphore?.acquire(options.signal);
      try {
        await bucket?.take(options.signal);
        return await provider.chat(request, options);
      } finally {
        semaphore?.release();
      }
    },
  };
}
