import type { RunExpectation } from './trace-analysis.ts';

/** Requests the benchmark sends to its receiver process over IPC. */
export type ReceiverRequest =
  | { kind: 'setTraceResponse'; status: number | null }
  | { kind: 'stats' }
  | { kind: 'sdkSpans' }
  | { kind: 'waitQuiet'; quietMs: number; timeoutMs: number }
  | { kind: 'analyze'; runs: RunExpectation[]; clear: boolean }
  | { kind: 'clearSpans' }
  | { kind: 'heapPeaks'; reset: boolean }
  | { kind: 'spanNames' };

/**
 * Totals of the SDK self-metric `otel.sdk.processor.span.processed` over every process exporting to the
 * receiver (latest cumulative value per process and processor, summed). `failed` counts spans the batch
 * processor gave up on, by `error.type` (`queue_full` when dropped on arrival, the exporter's error name
 * when an export failed).
 */
export interface SdkSpanCounts {
  ok: number;
  failed: number;
  total: number;
  byErrorType: Record<string, number>;
  byService: Record<string, number>;
  /** The same per exporting process (`process.pid` of the resource). */
  byPid: Record<string, { ok: number; failed: number }>;
  /** Spans waiting in the batch processors' queues at the last export. */
  queued: number;
  metricPoints: number;
  logRecords: number;
}

export interface ReceiverStats {
  /** Spans received per exporting process since the receiver started (not reset by clearing). */
  receivedByPid: Record<string, number>;
  /** Spans held now (since the last clear). */
  spans: number;
  traceRequests: number;
  errors: number;
}
