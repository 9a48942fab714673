import { type IdGenerator, RandomIdGenerator } from '@opentelemetry/sdk-trace';

/**
 * Random ids, except that a caller may fix the ids of the next span it starts. Starting a span reads
 * its ids synchronously, so setting them just before `startSpan` and clearing them right after is safe
 * on Node's single thread.
 */
export class PresetIdGenerator implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  #traceId: string | undefined;
  #spanId: string | undefined;

  generateTraceId(): string {
    const preset = this.#traceId;
    this.#traceId = undefined;
    return preset ?? this.#random.generateTraceId();
  }

  generateSpanId(): string {
    const preset = this.#spanId;
    this.#spanId = undefined;
    return preset ?? this.#random.generateSpanId();
  }

  /** Runs `fn` (which must start exactly one span synchronously) with the given ids preset. */
  withPresetIds<T>(ids: { traceId?: string; spanId: string }, fn: () => T): T {
    this.#traceId = ids.traceId;
    this.#spanId = ids.spanId;
    try {
      return fn();
    } finally {
      this.#traceId = undefined;
      this.#spanId = undefined;
    }
  }
}
