import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BenchStack } from '../lib/bench-stack.ts';
import { runJson } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import { median, ratio } from '../lib/stats.ts';
import { oneNode } from '../lib/workflows.ts';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const RAW = fileURLToPath(new URL('../processes/raw-bullmq.ts', import.meta.url));

export interface SubmissionRep {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

export interface SubmissionVariant extends Omit<SubmissionRep, 'requests' | 'errors'> {
  reps: SubmissionRep[];
}

export interface ApiSubmissionResult {
  connections: number;
  seconds: number;
  traced: SubmissionVariant;
  untraced: SubmissionVariant;
  raw: SubmissionVariant;
  tracedOverRaw: number;
  untracedOverRaw: number;
  tracedOverUntraced: number;
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number };
}

async function autocannon(stack: BenchStack, workflowId: string, seconds: number, connections: number) {
  const out = await runJson<AutocannonJson>(
    AUTOCANNON,
    [
      '-c',
      String(connections),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      `authorization=Bearer ${stack.stack.apiKey}`,
      '-H',
      'content-type=application/json',
      '-b',
      JSON.stringify({ workflowId, input: { seq: 1 } }),
      '--json',
      `${stack.stack.apiUrl}/v1/runs`,
    ],
    (seconds + 30) * 1000,
  );
  return {
    perSecond: out['2xx'] / out.duration,
    p50Ms: out.latency.p50,
    p99Ms: out.latency.p99,
    requests: out['2xx'],
    errors: out.errors + out.timeouts + out.non2xx,
  };
}

async function rawAdd(redisUrl: string, seconds: number, connections: number): Promise<SubmissionRep> {
  const out = await runJson<{ jobs: number; perSecond: number; p50Ms: number; p99Ms: number }>(
    RAW,
    [
      '--mode',
      'add',
      '--seconds',
      String(seconds),
      '--concurrency',
      String(connections),
      '--redis-url',
      redisUrl,
    ],
    (seconds + 30) * 1000,
  );
  return { perSecond: out.perSecond, p50Ms: out.p50Ms, p99Ms: out.p99Ms, requests: out.jobs, errors: 0 };
}

const summarize = (reps: SubmissionRep[]): SubmissionVariant => ({
  perSecond: median(reps.map((r) => r.perSecond)),
  p50Ms: median(reps.map((r) => r.p50Ms)),
  p99Ms: median(reps.map((r) => r.p99Ms)),
  reps,
});

/**
 * Scenario 3: runs accepted per second by `POST /v1/runs` (a registered 1-node workflow, bearer key) under
 * autocannon, a second process, traced and untraced; and raw `queue.add` jobs per second from a second
 * process at the same concurrency. The fleets have no workers (this measures the API alone) and no
 * reconciler (it would sweep the growing backlog of queued nodes that no worker takes).
 */
export async function apiSubmission(ctx: BenchContext): Promise<ApiSubmissionResult> {
  const { seconds, connections, warmupSeconds } = ctx.plan.api;
  const env = { RECONCILER_ENABLED: 'false' };
  const [traced, untraced] = await Promise.all([
    ctx.acquire({ name: 's3-traced', traced: true, llmWorkers: 0, env }),
    ctx.acquire({ name: 's3-untraced', traced: false, llmWorkers: 0, env }),
  ]);
  try {
    const ids = new Map<BenchStack, string>();
    for (const stack of [traced, untraced]) ids.set(stack, await stack.register(oneNode()));
    if (warmupSeconds > 0) {
      for (const stack of [traced, untraced])
        await autocannon(stack, ids.get(stack) as string, warmupSeconds, connections);
      await rawAdd(ctx.redisUrl, warmupSeconds, connections);
    }
    const reps: Record<'traced' | 'untraced' | 'raw', SubmissionRep[]> = {
      traced: [],
      untraced: [],
      raw: [],
    };
    const kinds = ['traced', 'untraced', 'raw'] as const;
    for (let rep = 0; rep < ctx.plan.reps; rep++) {
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[(rep + i) % kinds.length] as (typeof kinds)[number];
        const stack = kind === 'traced' ? traced : untraced;
        const result =
          kind === 'raw'
            ? await rawAdd(ctx.redisUrl, seconds, connections)
            : await autocannon(stack, ids.get(stack) as string, seconds, connections);
        if (result.errors > 0) ctx.log(`  s3 ${kind}: ${result.errors} errors or non-2xx answers`);
        reps[kind].push(result);
        ctx.log(
          `  s3 rep ${rep + 1} ${kind.padEnd(8)}: ${result.perSecond.toFixed(0)}/s, ` +
            `p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`,
        );
      }
      await ctx.receiver.clearSpans();
    }
    const t = summarize(reps.traced);
    const u = summarize(reps.untraced);
    const r = summarize(reps.raw);
    return {
      connections,
      seconds,
      traced: t,
      untraced: u,
      raw: r,
      tracedOverRaw: ratio(t.perSecond, r.perSecond),
      untracedOverRaw: ratio(u.perSecond, r.perSecond),
      tracedOverUntraced: ratio(t.perSecond, u.perSecond),
    };
  } finally {
    await Promise.all([ctx.release(traced), ctx.release(untraced)]);
  }
}
