import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { testAdminUrl } from '@flowtrace/db/testing';
import { BenchContext } from './lib/context.ts';
import { machineInfo } from './lib/machine.ts';
import { FULL_PLAN, SMOKE_PLAN } from './lib/plan.ts';
import { ReceiverClient } from './lib/receiver-client.ts';
import { type BenchResults, checkTargets, renderMachine, renderTable } from './lib/report.ts';
import { sanityProblems } from './lib/sanity.ts';
import { rawBullmq } from './scenarios/s1-raw-bullmq.ts';
import { fleetThroughput } from './scenarios/s2-fleet-throughput.ts';
import { apiSubmission } from './scenarios/s3-api-submission.ts';
import { dispatchLatency } from './scenarios/s4-dispatch-latency.ts';
import { collectorDown } from './scenarios/s5-collector-down.ts';
import { scaling } from './scenarios/s6-scaling.ts';
import { completeness } from './scenarios/s7-completeness.ts';
import { eventStreams } from './scenarios/s8-event-streams.ts';
import { tenantFairness } from './scenarios/s9-tenant-fairness.ts';
import { largeOutputs } from './scenarios/s10-large-outputs.ts';
import { latencyScaling } from './scenarios/s11-latency-scaling.ts';

/**
 * `npm run bench`: what tracing and orchestration cost, side by side with raw BullMQ. Runs the
 * scenarios on this machine (real API and worker processes, real Redis and Postgres, a receiver process
 * for OTLP), prints the table, writes `bench/results/latest.json` and regenerates the results section of
 * `docs/benchmarks.md`.
 *
 *   npm run bench                 the full benchmark (about 12 minutes on 2 cores)
 *   npm run bench -- --smoke      every scenario with tiny counts (about a minute); fails only if the harness breaks
 *   npm run bench -- --only 2,4   some scenarios (7 needs 2, 4, 6, 10 or 11); the docs are not touched
 *   npm run bench -- --no-doc     leave docs/benchmarks.md alone
 *   npm run bench -- --profile    where the time goes: CPU profiles, Redis commands and SQL per node and per run
 */
const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = path.join(ROOT, 'bench/results');
const DOC = path.join(ROOT, 'docs/benchmarks.md');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

if (values.profile) {
  await mkdir(RESULTS, { recursive: true });
  await rm(path.join(RESULTS, 'profiles'), { recursive: true, force: true });
  const { profileFleet, renderProfile } = await import('./profile.ts');
  const receiver = await ReceiverClient.start();
  try {
    const phases = await profileFleet({
      receiver,
      resultsDir: RESULTS,
      log: console.log,
      runs: 200,
      apiSeconds: 5,
    });
    console.log(renderProfile(phases));
    await writeFile(path.join(RESULTS, 'profile.json'), `${JSON.stringify(phases, null, 2)}\n`);
    console.log('\nprofile: bench/results/profile.json, CPU profiles under bench/results/profiles/');
  } finally {
    await receiver.close();
  }
  process.exit(0);
}

const smoke = values.smoke;
const plan = smoke ? SMOKE_PLAN : FULL_PLAN;
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
const wanted = (n: string) => !only || only.has(n);
const log = (line: string) => console.log(line);
const started = Date.now();
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

await rm(path.join(RESULTS, 'logs'), { recursive: true, force: true });
await mkdir(RESULTS, { recursive: true });

const results: BenchResults = {
  mode: smoke ? 'smoke' : 'full',
  startedAt: new Date(started).toISOString(),
  durationSeconds: 0,
  machine: await machineInfo(redisUrl, testAdminUrl()),
  loadAverageAtEnd: [],
  plan,
  targets: [],
  errors: [],
};
log(`flowtrace benchmark (${results.mode}) on ${results.machine.cores} cores, Node ${results.machine.node}`);

const receiver = await ReceiverClient.start();
const ctx = new BenchContext({ plan, smoke, receiver, logsDir: path.join(RESULTS, 'logs'), redisUrl, log });

// Bounded: a stuck scenario must not hold the machine (or CI) forever.
const budgetMs = smoke ? 180_000 : 1_500_000;
let aborting = false;
const abort = async (why: string, code: number) => {
  if (aborting) return;
  aborting = true;
  console.error(`\nbenchmark aborted: ${why}; stopping the fleets`);
  await ctx.stopEverything().catch(() => {});
  await receiver.close().catch(() => {});
  process.exit(code);
};
const watchdog = setTimeout(() => void abort(`over its ${budgetMs / 1000} s budget`, 1), budgetMs);
watchdog.unref();
process.once('SIGINT', () => void abort('interrupted', 130));
process.once('SIGTERM', () => void abort('terminated', 143));

const scenarios: { id: string; name: string; run: () => Promise<void> }[] = [
  {
    id: '1',
    name: 'raw BullMQ',
    run: async () => {
      results.s1 = await rawBullmq(ctx);
    },
  },
  {
    id: '2',
    name: 'fleet throughput, traced vs untraced',
    run: async () => {
      results.s2 = await fleetThroughput(ctx);
    },
  },
  {
    id: '3',
    name: 'API submission',
    run: async () => {
      results.s3 = await apiSubmission(ctx);
    },
  },
  {
    id: '4',
    name: 'dispatch latency',
    run: async () => {
      results.s4 = await dispatchLatency(ctx);
    },
  },
  {
    id: '5',
    name: 'collector down',
    run: async () => {
      results.s5 = await collectorDown(ctx);
    },
  },
  {
    id: '6',
    name: 'horizontal scaling',
    run: async () => {
      results.s6 = await scaling(ctx);
    },
  },
  {
    id: '8',
    name: 'live event streams',
    run: async () => {
      results.s8 = await eventStreams(ctx);
    },
  },
  {
    id: '9',
    name: 'tenant fairness',
    run: async () => {
      results.s9 = await tenantFairness(ctx);
    },
  },
  {
    id: '10',
    name: 'large outputs',
    run: async () => {
      results.s10 = await largeOutputs(ctx);
    },
  },
  {
    id: '11',
    name: 'horizontal scaling, latency-bound',
    run: async () => {
      results.s11 = await latencyScaling(ctx);
    },
  },
];

try {
  await ctx.prestartShared();
  for (const scenario of scenarios) {
    if (!wanted(scenario.id)) continue;
    const t = Date.now();
    log(`scenario ${scenario.id}: ${scenario.name}`);
    try {
      await scenario.run();
    } catch (error) {
      results.errors.push({ scenario: scenario.id, error: String((error as Error)?.stack ?? error) });
      console.error(`scenario ${scenario.id} failed:`, error);
    }
    log(`  (${((Date.now() - t) / 1000).toFixed(0)} s)`);
  }
  await ctx.close();
  if (wanted('7') && ctx.analyses.length > 0) {
    log('scenario 7: span completeness');
    try {
      results.s7 = await completeness(ctx);
    } catch (error) {
      results.errors.push({ scenario: '7', error: String((error as Error)?.stack ?? error) });
    }
  }
} finally {
  clearTimeout(watchdog);
  await ctx.stopEverything().catch(() => {});
  await receiver.close();
}

results.durationSeconds = (Date.now() - started) / 1000;
results.loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
results.targets = checkTargets(results);
const table = renderTable(results);
const machine = renderMachine(results);
log(`\n${machine}\n\n${table}\n`);
for (const t of results.targets)
  if (!t.met) log(`target missed: ${t.label}: ${t.display} (target ${t.target})`);

// A partial run (--only) never replaces the latest full results.
const file = path.join(RESULTS, smoke ? 'smoke.json' : only ? 'partial.json' : 'latest.json');
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
log(`results: ${path.relative(ROOT, file)}`);

const problems = [
  ...results.errors.map((e) => `scenario ${e.scenario} failed`),
  ...sanityProblems(results, only),
];
if (!smoke && !only && !values['no-doc'] && problems.length === 0) {
  try {
    const doc = await readFile(DOC, 'utf8');
    const from = doc.indexOf(START);
    const to = doc.indexOf(END);
    if (from < 0 || to < from) throw new Error(`no ${START} … ${END} section`);
    const section = `${START}\n<!-- Generated by \`npm run bench\`; edits here are overwritten. -->\n\n${machine}\n\n${table}\n${END}`;
    await writeFile(DOC, doc.slice(0, from) + section + doc.slice(to + END.length));
    log(`updated ${path.relative(ROOT, DOC)}`);
  } catch (error) {
    log(`docs/benchmarks.md not updated: ${(error as Error).message}`);
  }
}

if (problems.length > 0) {
  console.error(`\nthe harness broke:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
}
