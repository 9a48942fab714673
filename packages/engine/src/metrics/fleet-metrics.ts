import { FlowtraceAttributes, METRICS, type MetricKey, semconv } from '@flowtrace/telemetry';
import type { Attributes, Counter, Histogram, Meter, ObservableResult } from '@opentelemetry/api';

const MESSAGING = { [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_BULLMQ } as const;
/** Buckets for durations from milliseconds to minutes (seconds). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export type NodeOutcomeLabel =
  | 'completed'
  | 'failed'
  | 'retried'
  | 'cancelled'
  | 'not_runnable'
  | 'abandoned';

/**
 * The fleet's own metrics (names and units from the telemetry package's catalogue). Without a
 * MeterProvider every call is a no-op.
 */
export class FleetMetrics {
  readonly #meter: Meter;
  readonly #histograms = new Map<MetricKey, Histogram>();
  readonly #counters = new Map<MetricKey, Counter>();
  readonly #tenantLabels = new Set<string>();
  readonly #maxTenantLabels: number;

  /** `maxTenantLabels`: distinct `flowtrace.tenant.id` values the tenant metrics carry before reporting `_other`. */
  constructor(meter: Meter, options: { maxTenantLabels?: number } = {}) {
    this.#meter = meter;
    this.#maxTenantLabels = options.maxTenantLabels ?? 200;
  }

  /** The tenant's label, or `_other` once this process has seen `maxTenantLabels` other tenants. */
  #tenant(tenantId: string): string {
    if (this.#tenantLabels.has(tenantId)) return tenantId;
    if (this.#tenantLabels.size >= this.#maxTenantLabels) return '_other';
    this.#tenantLabels.add(tenantId);
    return tenantId;
  }

  #histogram(key: MetricKey): Histogram {
    let histogram = this.#histograms.get(key);
    if (!histogram) {
      const spec = METRICS[key];
      histogram = this.#meter.createHistogram(spec.name, {
        unit: spec.unit,
        description: spec.description,
        ...(spec.unit === 's' ? { advice: { explicitBucketBoundaries: DURATION_BUCKETS } } : {}),
      });
      this.#histograms.set(key, histogram);
    }
    return histogram;
  }

  #counter(key: MetricKey): Counter {
    let counter = this.#counters.get(key);
    if (!counter) {
      const spec = METRICS[key];
      counter = this.#meter.createCounter(spec.name, { unit: spec.unit, description: spec.description });
      this.#counters.set(key, counter);
    }
    return counter;
  }

  /** A worker took a job; `waitSeconds` when known (first delivery). */
  jobConsumed(queue: string, nodeType: string | undefined, waitSeconds: number | undefined): void {
    const destination = { ...MESSAGING, [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue };
    this.#counter('messagingConsumed').add(1, {
      ...destination,
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
    });
    if (waitSeconds !== undefined && waitSeconds >= 0) {
      this.#histogram('queueWait').record(waitSeconds, {
        [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue,
        ...(nodeType ? { [FlowtraceAttributes.NODE_TYPE]: nodeType } : {}),
      });
    }
  }

  /** One node attempt ended (in whatever way). */
  nodeAttempt(
    queue: string,
    nodeType: string,
    outcome: NodeOutcomeLabel,
    seconds: number,
    errorType?: string,
  ): void {
    const error = errorType ? { [semconv.ATTR_ERROR_TYPE]: errorType } : {};
    this.#histogram('nodeDuration').record(seconds, {
      [FlowtraceAttributes.NODE_TYPE]: nodeType,
      [FlowtraceAttributes.NODE_OUTCOME]: outcome,
      ...error,
    });
    this.#histogram('messagingProcessDuration').record(seconds, {
      ...MESSAGING,
      [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue,
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [FlowtraceAttributes.NODE_TYPE]: nodeType,
      ...error,
    });
    if (outcome === 'retried') {
      this.#counter('nodeRetries').add(1, { [FlowtraceAttributes.NODE_TYPE]: nodeType, ...error });
    }
  }

  jobsSent(queue: string, count: number, errorType?: string): void {
    this.#counter('messagingSent').add(count, {
      ...MESSAGING,
      [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue,
      [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'send',
      ...(errorType ? { [semconv.ATTR_ERROR_TYPE]: errorType } : {}),
    });
  }

  jobStalled(queue: string): void {
    this.#counter('jobsStalled').add(1, { [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue });
  }

  runStarted(tenantId: string, workflowName: string): void {
    this.#counter('runsStarted').add(1, {
      [FlowtraceAttributes.TENANT_ID]: tenantId,
      [FlowtraceAttributes.WORKFLOW_NAME]: workflowName,
    });
  }

  runFinished(
    run: { tenantId: string; status: string; seconds: number; errorType?: string | undefined },
    workflowName: string,
  ): void {
    const attributes: Attributes = {
      [FlowtraceAttributes.WORKFLOW_NAME]: workflowName,
      [FlowtraceAttributes.RUN_STATUS]: run.status,
    };
    this.#counter('runsFinished').add(1, {
      ...attributes,
      [FlowtraceAttributes.TENANT_ID]: run.tenantId,
      ...(run.errorType ? { [semconv.ATTR_ERROR_TYPE]: run.errorType } : {}),
    });
    this.#histogram('runDuration').record(run.seconds, attributes);
  }

  redrive(reason: string, nodeType: string): void {
    this.#counter('reconcilerRedrives').add(1, {
      [FlowtraceAttributes.REDRIVE_REASON]: reason,
      [FlowtraceAttributes.NODE_TYPE]: nodeType,
    });
  }

  llmCost(costUsd: number, attributes: { provider: string; model: string; tenantId: string }): void {
    if (!(costUsd > 0)) return;
    this.#counter('llmCost').add(costUsd, {
      [semconv.ATTR_GEN_AI_PROVIDER_NAME]: attributes.provider,
      [semconv.ATTR_GEN_AI_REQUEST_MODEL]: attributes.model,
      [FlowtraceAttributes.TENANT_ID]: attributes.tenantId,
    });
  }

  /** A model call recorded in the ledger: the tenant's spend and tokens. */
  tenantUsage(
    tenantId: string,
    usage: { costUsd: number; inputTokens: number; outputTokens: number; operation: string },
  ): void {
    const base = {
      [FlowtraceAttributes.TENANT_ID]: this.#tenant(tenantId),
      [semconv.ATTR_GEN_AI_OPERATION_NAME]: usage.operation,
    };
    if (usage.costUsd > 0) this.#counter('tenantSpend').add(usage.costUsd, base);
    if (usage.inputTokens > 0) {
      this.#counter('tenantTokens').add(usage.inputTokens, {
        ...base,
        [semconv.ATTR_GEN_AI_TOKEN_TYPE]: semconv.GEN_AI_TOKEN_TYPE_VALUE_INPUT,
      });
    }
    if (usage.outputTokens > 0) {
      this.#counter('tenantTokens').add(usage.outputTokens, {
        ...base,
        [semconv.ATTR_GEN_AI_TOKEN_TYPE]: semconv.GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
      });
    }
  }

  /** A run refused at admission or a model call refused before it was made. */
  tenantLimitRejected(tenantId: string, limit: string, stage: 'admission' | 'model_call'): void {
    this.#counter('tenantLimitRejections').add(1, {
      [FlowtraceAttributes.TENANT_ID]: this.#tenant(tenantId),
      [FlowtraceAttributes.LIMIT_NAME]: limit,
      [FlowtraceAttributes.LIMIT_STAGE]: stage,
    });
  }

  /** Ready nodes held back by the tenant's in-flight limit. */
  nodesHeld(tenantId: string, count: number): void {
    if (count > 0)
      this.#counter('tenantNodesHeld').add(count, {
        [FlowtraceAttributes.TENANT_ID]: this.#tenant(tenantId),
      });
  }

  /**
   * Reports queue depth by state on each collection, from `read` (which queries Redis). Only one process
   * per fleet needs to (the API does), or the depth would be reported several times.
   */
  observeQueueDepth(read: () => Promise<{ queue: string; counts: Record<string, number> }[]>): void {
    const spec = METRICS.queueDepth;
    const gauge = this.#meter.createObservableGauge(spec.name, {
      unit: spec.unit,
      description: spec.description,
    });
    let latest: { queue: string; counts: Record<string, number> }[] = [];
    // Observable callbacks may be async; keep the last good reading if Redis is slow or down.
    gauge.addCallback(async (result: ObservableResult) => {
      try {
        latest = await read();
      } catch {
        // Report the last reading rather than nothing.
      }
      for (const { queue, counts } of latest) {
        for (const [state, value] of Object.entries(counts)) {
          result.observe(value, {
            [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue,
            [FlowtraceAttributes.QUEUE_STATE]: state,
          });
        }
      }
    });
  }
}
