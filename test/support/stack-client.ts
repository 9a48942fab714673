import { FlowtraceClient } from '@flowtrace/client';
import type { LocalStack } from '@flowtrace/local-stack';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';

export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing ${what}`);
  return value;
}

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in assertions
  body: Record<string, any>;
}

/** The typed client (`@flowtrace/client`) for a running stack's API, with the stack's key. */
export function flowtraceClient(stack: LocalStack): FlowtraceClient {
  return new FlowtraceClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });
}

/** A small HTTP client for a running stack's API, with the stack's key (for raw status and header checks). */
export function stackClient(stack: LocalStack) {
  const api = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> => {
    const response = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${stack.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as ApiResponse['body'] };
  };

  const waitForRun = async (runId: string, timeoutMs = 60_000): Promise<ApiResponse['body']> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/v1/runs/${runId}`);
      if (['completed', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline)
        throw new Error(`run ${runId} still ${body.status}: ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  /** The spans of a trace, once `invoke_workflow` has arrived and no more spans trickle in. */
  const traceOf = async (traceId: string): Promise<ReceivedSpan[]> => {
    const receiver = must(stack.receiver, 'the local OTLP receiver');
    const ofTrace = () => receiver.spans().filter((s) => s.traceId === traceId);
    await receiver.waitFor(() => ofTrace().some((s) => s.name.startsWith('invoke_workflow')), {
      timeoutMs: 20_000,
      message: `invoke_workflow of trace ${traceId}`,
    });
    // A quiet period, because nothing in a trace says how many spans it will have: the other processes'
    // spans of the run ended before invoke_workflow but may still wait in their batch processors (the stack
    // exports every 500 ms, OTEL_BSP_SCHEDULE_DELAY). No new span for more than twice that: all are in.
    let count = -1;
    while (count !== ofTrace().length) {
      count = ofTrace().length;
      await new Promise((resolve) => setTimeout(resolve, 1_200));
    }
    return ofTrace();
  };

  return { api, waitForRun, traceOf };
}

/** Spans of a trace whose parent is not in it (a connected trace has none but its root). */
export function orphans(spans: readonly ReceivedSpan[]): ReceivedSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentSpanId !== undefined && !ids.has(s.parentSpanId));
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Settings that make recovery happen in seconds: short BullMQ locks and stall checks, a fast reconciler. */
export const FAST_RECOVERY_ENV = {
  BULLMQ_LOCK_DURATION_MS: '2000',
  BULLMQ_STALLED_INTERVAL_MS: '1000',
  BULLMQ_MAX_STALLED_COUNT: '3',
  NODE_HEARTBEAT_MS: '500',
  RECONCILER_INTERVAL_MS: '500',
  RECONCILER_QUEUED_GRACE_MS: '3000',
  RECONCILER_HEARTBEAT_STALE_MS: '4000',
  SHUTDOWN_DRAIN_MS: '15000',
} as const;
