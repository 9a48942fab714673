import type { InMemoryTracing } from '@flowtrace/telemetry/testing';
import { expect } from 'vitest';

const nanos = (time: readonly [number, number]) => BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);

/**
 * The `invoke_workflow` span of the trace `traceId` once it has been recorded (it is recorded after the
 * last span of its run ends, so it can come a moment after the run's terminal status is visible), after
 * checking that it covers the run: no other span of the trace starts before it or ends after it.
 */
export async function invokeCoveringRun(
  spans: InMemoryTracing['spans'],
  traceId: string,
  timeoutMs = 10_000,
): Promise<ReturnType<InMemoryTracing['spans']>[number]> {
  const ofTrace = () => spans().filter((s) => s.spanContext().traceId === traceId);
  const deadline = Date.now() + timeoutMs;
  let invoke = ofTrace().find((s) => s.name.startsWith('invoke_workflow'));
  while (!invoke) {
    if (Date.now() > deadline) throw new Error(`no invoke_workflow span in trace ${traceId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    invoke = ofTrace().find((s) => s.name.startsWith('invoke_workflow'));
  }
  for (const span of ofTrace()) {
    if (span === invoke) continue;
    expect(nanos(span.startTime) >= nanos(invoke.startTime), `${span.name} starts within the run`).toBe(true);
    expect(
      nanos(span.endTime) <= nanos(invoke.endTime),
      `${span.name} ends ${nanos(span.endTime) - nanos(invoke.endTime)} ns after invoke_workflow`,
    ).toBe(true);
  }
  return invoke;
}
