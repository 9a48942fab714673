import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteKeys } from '../lib/redis-keys.ts';
import { percentile } from '../lib/stats.ts';

/**
 * The raw BullMQ baseline, in a process of its own (the load generator of scenarios 1 and 3):
 *
 * - `--mode drain`: `Queue.addBulk` of `--jobs` jobs, then a no-op `Worker` at `--concurrency` processes
 *   them; repeated `--reps` times on fresh queues. Prints `{ reps: [{ addPerSecond, processPerSecond }] }`.
 * - `--mode add`: `--concurrency` loops of `queue.add` for `--seconds` (at most `--max-jobs`), the raw
 *   counterpart of `POST /v1/runs`. Prints `{ jobs, seconds, perSecond, p50Ms, p99Ms }`.
 *
 * Jobs look like the fleet's node jobs: a payload of the same shape and size, a deterministic job id,
 * attempts, and the same `removeOnComplete`/`removeOnFail` retention. The result is the last stdout line.
 */
const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'drain' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    jobs: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '5' },
    'max-jobs': { type: 'string', default: '200000' },
  },
});

const prefix = `{ftbench-raw-${randomUUID().slice(0, 6)}}`;
const connection = new Redis(values['redis-url'], { maxRetriesPerRequest: null });
const concurrency = Number(values.concurrency);

const jobData = () => {
  const runId = randomUUID();
  return {
    name: 'n0',
    data: {
      v: 1,
      runId,
      nodeId: 'n0',
      workflowId: randomUUID(),
      tenantId: randomUUID(),
      carrier: { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` },
      links: [],
      backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 30000, jitter: 0.2 },
    },
    opts: {
      jobId: `${runId}.n0`,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
  };
};

async function drainOnce(queueName: string, jobs: number) {
  const queue = new Queue(queueName, { connection, prefix });
  const batches = Array.from({ length: Math.ceil(jobs / 1000) }, (_, i) =>
    Array.from({ length: Math.min(1000, jobs - i * 1000) }, jobData),
  );
  const addStart = performance.now();
  for (const batch of batches) await queue.addBulk(batch);
  const addSeconds = (performance.now() - addStart) / 1000;

  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker(queueName, async () => {}, { connection, prefix, concurrency, autorun: false });
  worker.on('completed', () => {
    done += 1;
    if (done === jobs) finish();
  });
  worker.on('error', () => {});
  await worker.waitUntilReady();
  const processStart = performance.now();
  void worker.run();
  await finished;
  const processSeconds = (performance.now() - processStart) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { jobs, addPerSecond: jobs / addSeconds, processPerSecond: jobs / processSeconds };
}

async function addFor(seconds: number, maxJobs: number) {
  const queue = new Queue('raw-add', { connection, prefix });
  await queue.waitUntilReady();
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && sent < maxJobs) {
        sent += 1;
        const job = jobData();
        const t = performance.now();
        await queue.add(job.name, job.data, job.opts);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  await queue.obliterate({ force: true });
  await queue.close();
  return {
    jobs: latencies.length,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

try {
  let result: unknown;
  if (values.mode === 'drain') {
    const reps = [];
    for (let i = 0; i < Number(values.reps); i++) reps.push(await drainOnce(`raw-${i}`, Number(values.jobs)));
    result = { concurrency, reps };
  } else if (values.mode === 'add') {
    result = { concurrency, ...(await addFor(Number(values.seconds), Number(values['max-jobs']))) };
  } else {
    throw new Error(`unknown --mode ${values.mode}`);
  }
  console.log(JSON.stringify(result));
} finally {
  await deleteKeys(connection, `${prefix}:*`).catch(() => {});
  connection.disconnect();
}
