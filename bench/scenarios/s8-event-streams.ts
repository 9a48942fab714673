import { FlowtraceClient } from '@flowtrace/client';
import type { BenchStack, SubmittedRun } from '../lib/bench-stack.ts';
import type { BenchContext } from '../lib/context.ts';
import { cpuDelta } from '../lib/proc.ts';
import { type Distribution, distribution, sleep } from '../lib/stats.ts';
import { chain } from '../lib/workflows.ts';

export interface EventStreamPhase {
  label: string;
  runs: number;
  subscribers: number;
  /** Events each run records (every reader of a run receives all of them). */
  eventsPerRun: number;
  /** Events received by all readers together, and the number expected. */
  delivered: number;
  expected: number;
  /** From resuming the queue to the last reader's terminal event. */
  seconds: number;
  /** CPU of the API process over that window, with readers and (baseline) without. */
  apiCpuMs: number;
  baselineApiCpuMs: number;
  /** Extra API CPU per event delivered to a reader. */
  apiCpuUsPerDelivery: number;
  postgresCpuMs: number;
  baselinePostgresCpuMs: number;
  /** Event created (its transaction's start, ms precision) → received by a reader, every (reader, event). */
  latencyMs: Distribution;
  apiRssMb: number;
}

export interface EventStreamsResult {
  phases: EventStreamPhase[];
}

interface Reader {
  runId: string;
  received: number;
  latencies: number[];
  done: Promise<void>;
}

/** Opens a reader with `@flowtrace/client`: counts events and their delay, ends after the terminal event. */
function openReader(client: FlowtraceClient, runId: string, signal: AbortSignal): Reader {
  const reader: Reader = { runId, received: 0, latencies: [], done: Promise.resolve() };
  reader.done = (async () => {
    for await (const event of client.streamEvents(runId, { signal, reconnect: false })) {
      reader.received++;
      if (event.seq > 1) reader.latencies.push(Date.now() - Date.parse(event.createdAt));
    }
  })();
  return reader;
}

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`s8: timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Drains `runs` (queued while the queue was paused) and returns the API's and Postgres' CPU meanwhile. */
async function drainWith(stack: BenchStack, runs: SubmittedRun[], readers: Reader[]) {
  const before = stack.sampleCpu();
  const started = performance.now();
  await stack.resumeQueue();
  await stack.waitForRuns(runs, 120_000);
  await Promise.all(readers.map((r) => r.done));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuDelta(before, stack.sampleCpu());
  return { seconds, api: cpu.api ?? Number.NaN, postgres: cpu.postgres ?? Number.NaN };
}

/**
 * Scenario 8: live event streams. `subscribers` Server-Sent Event readers on one API process, first all on
 * one run, then spread over `manyRuns` runs, each run a chain (so events arrive one commit at a time).
 * The readers (`@flowtrace/client`, in the harness process) connect while the queue is paused; the API's
 * CPU is measured from the resume to the last reader's terminal event, and compared with the same runs
 * drained without readers. The API reads each run's new events once per wake-up for all its readers, so
 * its cost should grow with the events delivered (serialising and writing them), not with reads.
 */
export async function eventStreams(ctx: BenchContext): Promise<EventStreamsResult> {
  const { subscribers, manyRuns, chainLength } = ctx.plan.streams;
  const stack = await ctx.acquire({ name: 's8-streams', traced: true, llmWorkers: 1 });
  const client = new FlowtraceClient({ baseUrl: stack.stack.apiUrl, apiKey: stack.stack.apiKey });
  const workflow = chain(chainLength);
  const phases: EventStreamPhase[] = [];
  try {
    const warm = await stack.submit(workflow, 2);
    await stack.waitForRuns(warm, 30_000);
    for (const [label, runCount] of [
      [`${subscribers} readers of 1 run`, 1],
      [`${subscribers} readers over ${manyRuns} runs`, manyRuns],
    ] as const) {
      // Baseline: the same runs, no readers.
      await stack.pauseQueue();
      const quiet = await stack.submit(workflow, runCount);
      const baseline = await drainWith(stack, quiet, []);

      await stack.pauseQueue();
      const runs = await stack.submit(workflow, runCount);
      const abort = new AbortController();
      const readers = Array.from({ length: subscribers }, (_, i) =>
        openReader(client, (runs[i % runs.length] as SubmittedRun).runId, abort.signal),
      );
      try {
        // Every reader has its run's first event (run.queued): all are connected before anything runs.
        await waitFor(() => readers.every((r) => r.received >= 1), 'every reader connected', 60_000);
        const measured = await drainWith(stack, runs, readers);
        const [row] = await stack.db.handle.sql<{ events: number }[]>`
          select count(*)::int as events from event_logs where run_id = ${runs[0]?.runId as string}`;
        const eventsPerRun = row?.events ?? 0;
        const delivered = readers.reduce((n, r) => n + r.received, 0);
        phases.push({
          label,
          runs: runCount,
          subscribers,
          eventsPerRun,
          delivered,
          expected: eventsPerRun * subscribers,
          seconds: measured.seconds,
          apiCpuMs: measured.api,
          baselineApiCpuMs: baseline.api,
          apiCpuUsPerDelivery: ((measured.api - baseline.api) * 1000) / Math.max(1, delivered),
          postgresCpuMs: measured.postgres,
          baselinePostgresCpuMs: baseline.postgres,
          latencyMs: distribution(readers.flatMap((r) => r.latencies)),
          apiRssMb: stack.apiRss() / 1024 / 1024,
        });
        ctx.log(
          `  s8 ${label}: ${delivered}/${eventsPerRun * subscribers} events delivered, API CPU ${measured.api.toFixed(0)} ms ` +
            `(without readers ${baseline.api.toFixed(0)} ms), Postgres CPU ${measured.postgres.toFixed(0)} ms ` +
            `(${baseline.postgres.toFixed(0)} ms)`,
        );
      } finally {
        abort.abort();
        await Promise.allSettled(readers.map((r) => r.done));
      }
    }
    return { phases };
  } finally {
    await stack.resumeQueue().catch(() => {});
    await ctx.release(stack);
  }
}
