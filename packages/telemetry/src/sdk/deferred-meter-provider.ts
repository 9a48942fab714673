import type {
  Attributes,
  Counter,
  Meter,
  MeterProvider,
  MetricOptions,
  ObservableCallback,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';

/**
 * A MeterProvider to hand to SDK components built before the SDK's own MeterProvider exists (the span
 * processor is). It supports what the batch span processor's self-observability uses (counters,
 * up-down counters, observable up-down counters): calls made before `bind` are replayed on the real
 * instruments then. This keeps the processor's spans-processed and dropped counts without turning on the
 * SDK's per-span counters (`OTEL_NODE_EXPERIMENTAL_SDK_METRICS`), which cost CPU on every span.
 */
export class DeferredMeterProvider implements MeterProvider {
  #target: MeterProvider | undefined;
  readonly #pending: ((provider: MeterProvider) => void)[] = [];

  bind(provider: MeterProvider): void {
    this.#target = provider;
    for (const replay of this.#pending.splice(0)) replay(provider);
  }

  #whenBound(fn: (provider: MeterProvider) => void): void {
    if (this.#target) fn(this.#target);
    else this.#pending.push(fn);
  }

  getMeter(name: string, version?: string): Meter {
    const meter = (provider: MeterProvider) => provider.getMeter(name, version);
    const additive = (create: (m: Meter) => Counter | UpDownCounter) => {
      let real: Counter | UpDownCounter | undefined;
      this.#whenBound((provider) => {
        real = create(meter(provider));
      });
      return {
        add: (value: number, attributes?: Attributes) => {
          if (real) real.add(value, attributes);
          else this.#whenBound(() => real?.add(value, attributes));
        },
      };
    };
    const deferred = {
      createCounter: (metric: string, options?: MetricOptions) =>
        additive((m) => m.createCounter(metric, options)),
      createUpDownCounter: (metric: string, options?: MetricOptions) =>
        additive((m) => m.createUpDownCounter(metric, options)),
      createObservableUpDownCounter: (metric: string, options?: MetricOptions): ObservableUpDownCounter => {
        let real: ObservableUpDownCounter | undefined;
        this.#whenBound((provider) => {
          real = meter(provider).createObservableUpDownCounter(metric, options);
        });
        return {
          addCallback: (callback: ObservableCallback) => this.#whenBound(() => real?.addCallback(callback)),
          removeCallback: (callback: ObservableCallback) =>
            this.#whenBound(() => real?.removeCallback(callback)),
        };
      },
    };
    // Other instrument kinds are not used by the span processor; a clear error beats silent loss.
    return new Proxy(deferred, {
      get: (target, property) => {
        if (property in target) return target[property as keyof typeof target];
        throw new Error(`DeferredMeterProvider does not support Meter.${String(property)}`);
      },
    }) as unknown as Meter;
  }
}
