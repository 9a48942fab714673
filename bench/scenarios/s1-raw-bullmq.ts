import { fileURLToPath } from 'node:url';
import { runJson } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import { median } from '../lib/stats.ts';

const SCRIPT = fileURLToPath(new URL('../processes/raw-bullmq.ts', import.meta.url));

export interface RawBullmqResult {
  jobs: number;
  concurrency: number;
  addPerSecond: number;
  processPerSecond: number;
  reps: { addPerSecond: number; processPerSecond: number }[];
}

/** Scenario 1: `Queue.addBulk` and a no-op `Worker` on the same Redis, from a process of their own. */
export async function rawBullmq(ctx: BenchContext): Promise<RawBullmqResult> {
  const { jobs, concurrency } = ctx.plan.rawBullmq;
  const out = await runJson<{ reps: { addPerSecond: number; processPerSecond: number }[] }>(
    SCRIPT,
    [
      '--mode',
      'drain',
      '--jobs',
      String(jobs),
      '--reps',
      String(ctx.plan.reps),
      '--concurrency',
      String(concurrency),
      '--redis-url',
      ctx.redisUrl,
    ],
    120_000,
  );
  if (out.reps.length !== ctx.plan.reps) throw new Error('raw BullMQ: missing repetitions');
  return {
    jobs,
    concurrency,
    addPerSecond: median(out.reps.map((r) => r.addPerSecond)),
    processPerSecond: median(out.reps.map((r) => r.processPerSecond)),
    reps: out.reps,
  };
}
