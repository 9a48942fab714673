import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { startPrivatePostgres, startPrivateRedis } from '../test/support/private-servers.ts';
import { BenchStack } from './lib/bench-stack.ts';
import { runJson } from './lib/child.ts';
import { type ProfileSummary, summarizeProfile } from './lib/cpu-profile.ts';
import { cpuDelta, syscalls } from './lib/proc.ts';
import type { ReceiverClient } from './lib/receiver-client.ts';
import { sleep } from './lib/stats.ts';
import { chain } from './lib/workflows.ts';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export interface PhaseProfile {
  phase: string;
  /** `traced` or `untraced`. */
  variant: string;
  traced: boolean;
  /** Nodes executed (worker phase) or runs accepted (API phase). */
  units: number;
  unit: string;
  seconds: number;
  cpuMsPerUnit: Record<string, number>;
  redisCallsPerUnit: { command: string; calls: number; usecPerCall: number }[];
  postgresPerUnit: { query: string; calls: number; meanMs: number; totalMsPerUnit: number; rows: number }[];
  /** Statements (pg_stat_statements, incl. foreign-key checks) and commits (pg_stat_database; includes the harness's polling). */
  postgres: { transactionsPerUnit: number; statementsPerUnit: number };
  /** Read and write system calls per unit of the process under study (the worker, or the API). */
  syscallsPerUnit: { reads: number; writes: number };
  cpuProfile?: ProfileSummary;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * `npm run bench -- --profile`: where the time per node and per submitted run goes. Runs a traced and an
 * untraced fleet on a private Redis (so INFO commandstats is ours alone) and a private Postgres with
 * pg_stat_statements, with `--cpu-prof` in every fleet process; drains a chain workload (the workers'
 * cost) and then drives `POST /v1/runs` with autocannon, queues paused (the API's cost). CPU profiles are
 * cut to each phase's window. Writes `bench/results/profile.json` and the profiles under
 * `bench/results/profiles/`.
 */
export async function profileFleet(options: {
  receiver: ReceiverClient;
  resultsDir: string;
  log: (line: string) => void;
  runs: number;
  apiSeconds: number;
}): Promise<PhaseProfile[]> {
  const { receiver, resultsDir, log } = options;
  const redisServer = await startPrivateRedis();
  // pg_stat_statements preloaded (the shared server does not load it, and its statistics would mix in
  // other tests); fsync on, like the shared server, so that commit costs are real.
  const pgServer = await startPrivatePostgres({
    fsync: true,
    settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'],
  });
  const previousAdmin = process.env.TEST_DATABASE_ADMIN_URL;
  process.env.TEST_DATABASE_ADMIN_URL = pgServer.url;
  const admin = postgres(pgServer.url, { max: 1, onnotice: () => {} });
  const redis = new Redis(redisServer.url);
  const out: PhaseProfile[] = [];
  try {
    await admin`create extension if not exists pg_stat_statements`;
    const variants: { variant: string; traced: boolean; env: Record<string, string> }[] = [
      { variant: 'traced', traced: true, env: {} },
      { variant: 'untraced', traced: false, env: {} },
    ];
    for (const [index, { variant, traced, env }] of variants.entries()) {
      const dir = path.join(resultsDir, 'profiles', `variant-${index + 1}`);
      const stack = await BenchStack.start({
        name: `profile-${index + 1}`,
        traced,
        receiver,
        logsDir: path.join(resultsDir, 'logs'),
        llmWorkers: 1,
        redisUrl: redisServer.url,
        env: {
          NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}`,
          RECONCILER_ENABLED: 'false',
          ...env,
        },
      });
      const windows: Record<string, { fromUs: number; toUs: number }> = {};
      try {
        const workflow = chain(10);
        await stack.drain(workflow, 20); // warm-up
        const workerPid = stack.workers[0]?.pid ?? 0;
        const apiPid = stack.stack.api.pid ?? 0;
        let from = 0;
        let io = syscalls(workerPid);
        // Statistics start once the runs are submitted: the worker phase counts the workers' work only.
        const drain = await stack.drain(workflow, options.runs, {
          beforeResume: async () => {
            await resetStats(admin, redis);
            io = syscalls(workerPid);
            from = nowUs();
          },
        });
        windows.worker = { fromUs: from, toUs: nowUs() };
        out.push(
          await readPhase(admin, redis, {
            phase: 'worker: drain 10-node chains',
            variant,
            traced,
            units: drain.nodes,
            unit: 'node',
            seconds: drain.seconds,
            cpuMsPerUnit: drain.cpuMsPerNode,
            syscallsPerUnit: perUnit(io, syscalls(workerPid), drain.nodes),
          }),
        );
        log(`  profile ${variant} workers: ${drain.nodesPerSecond.toFixed(0)} nodes/s`);

        const workflowId = await stack.register(workflow);
        await stack.pauseQueue();
        await resetStats(admin, redis);
        const before = stack.sampleCpu();
        const apiIo = syscalls(apiPid);
        const apiFrom = nowUs();
        const result = await runJson<{ '2xx': number; duration: number }>(
          AUTOCANNON,
          [
            ...['-c', '16', '-d', String(options.apiSeconds), '-m', 'POST'],
            ...['-H', `authorization=Bearer ${stack.stack.apiKey}`, '-H', 'content-type=application/json'],
            ...[
              '-b',
              JSON.stringify({ workflowId, input: { seq: 1 } }),
              '--json',
              `${stack.stack.apiUrl}/v1/runs`,
            ],
          ],
          (options.apiSeconds + 30) * 1000,
        );
        windows.api = { fromUs: apiFrom, toUs: nowUs() };
        const after = stack.sampleCpu();
        const cpu = cpuDelta(before, after);
        const accepted = result['2xx'];
        out.push(
          await readPhase(admin, redis, {
            phase: 'API: POST /v1/runs (autocannon, 16 connections)',
            variant,
            traced,
            syscallsPerUnit: perUnit(apiIo, syscalls(apiPid), accepted),
            units: accepted,
            unit: 'run',
            seconds: result.duration,
            cpuMsPerUnit: Object.fromEntries(
              Object.entries(cpu)
                .filter(([k]) => k !== 'wall')
                .map(([k, v]) => [k === 'machine' ? 'total' : k, v / Math.max(1, accepted)]),
            ),
          }),
        );
        log(`  profile ${variant} API: ${(accepted / result.duration).toFixed(0)} runs/s`);
        await stack.resumeQueue();
      } finally {
        await stack.stop();
      }
      // Profiles are written when the processes exit; the API's is the one whose first sample is oldest.
      await sleep(500);
      const files = (await readdir(dir))
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(dir, f));
      const pids = { api: String(stack.stack.api.pid), worker: String(stack.workers[0]?.pid) };
      for (const file of files) {
        const kind = file.includes(`.${pids.api}.`)
          ? 'api'
          : file.includes(`.${pids.worker}.`)
            ? 'worker'
            : undefined;
        if (!kind) continue;
        const phase = out.find((p) => p.variant === variant && p.unit === (kind === 'api' ? 'run' : 'node'));
        if (phase) phase.cpuProfile = await summarizeProfile(file, windows[kind]);
      }
    }
  } finally {
    if (previousAdmin === undefined) delete process.env.TEST_DATABASE_ADMIN_URL;
    else process.env.TEST_DATABASE_ADMIN_URL = previousAdmin;
    redis.disconnect();
    await admin.end({ timeout: 5 });
    await pgServer.close();
    await redisServer.close();
  }
  return out;
}

function perUnit(
  before: { reads: number; writes: number },
  after: { reads: number; writes: number },
  units: number,
): { reads: number; writes: number } {
  return {
    reads: (after.reads - before.reads) / Math.max(1, units),
    writes: (after.writes - before.writes) / Math.max(1, units),
  };
}

/** Commits so far in the fleet's databases (pg_stat_database; backends report at most once a second). */
let commitsAtReset = 0;
async function commits(admin: postgres.Sql): Promise<number> {
  const [row] = await admin<{ commits: string }[]>`
    select coalesce(sum(xact_commit), 0) as commits from pg_stat_database where datname like 'flowtrace_test_%'`;
  return Number(row?.commits ?? 0);
}

async function resetStats(admin: postgres.Sql, redis: Redis): Promise<void> {
  await admin`select pg_stat_statements_reset()`;
  await redis.config('RESETSTAT');
  await sleep(1_100);
  commitsAtReset = await commits(admin);
}

async function readPhase(
  admin: postgres.Sql,
  redis: Redis,
  phase: Omit<PhaseProfile, 'redisCallsPerUnit' | 'postgresPerUnit' | 'postgres'>,
): Promise<PhaseProfile> {
  const units = Math.max(1, phase.units);
  const stats = await redis.info('commandstats');
  const redisCalls = [...stats.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)]
    .map((m) => ({
      command: m[1] as string,
      calls: Number(m[2]) / units,
      usecPerCall: Number(m[3]) / Number(m[2]),
    }))
    .filter((c) => c.command !== 'config' && c.command !== 'info')
    .sort((a, b) => b.calls - a.calls);
  const rows = await admin<{ query: string; calls: string; mean: number; total: number; rows: string }[]>`
    select s.query, s.calls, s.mean_exec_time as mean, s.total_exec_time as total, s.rows
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname like 'flowtrace_test_%'
    order by s.total_exec_time desc limit 25`;
  const statements = rows.map((r) => ({
    query: r.query.replace(/\s+/g, ' ').slice(0, 160),
    calls: Number(r.calls) / units,
    meanMs: r.mean,
    totalMsPerUnit: r.total / units,
    rows: Number(r.rows) / Math.max(1, Number(r.calls)),
  }));
  const [totals] = await admin<{ calls: string }[]>`
    select coalesce(sum(s.calls), 0) as calls
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname like 'flowtrace_test_%'`;
  await sleep(1_100);
  const committed = (await commits(admin)) - commitsAtReset;
  return {
    ...phase,
    redisCallsPerUnit: redisCalls,
    postgresPerUnit: statements,
    postgres: {
      transactionsPerUnit: committed / units,
      statementsPerUnit: Number(totals?.calls ?? 0) / units,
    },
  };
}

/** A readable summary of the profile phases (printed; the JSON has everything). */
export function renderProfile(phases: readonly PhaseProfile[]): string {
  const lines: string[] = [];
  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  for (const p of phases) {
    lines.push(`\n## ${p.phase} — ${p.variant}: ${p.units} ${p.unit}s in ${f(p.seconds)} s`);
    lines.push(
      `CPU ms per ${p.unit}: ${Object.entries(p.cpuMsPerUnit)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', ')}`,
    );
    lines.push(
      `System calls per ${p.unit} (${p.unit === 'node' ? 'worker' : 'API'}): ${f(p.syscallsPerUnit.reads, 1)} reads, ${f(
        p.syscallsPerUnit.writes,
        1,
      )} writes`,
    );
    lines.push(
      `Postgres per ${p.unit}: ${f(p.postgres.statementsPerUnit, 1)} statements, ${f(p.postgres.transactionsPerUnit, 1)} commits`,
    );
    for (const s of p.postgresPerUnit.slice(0, 8)) {
      lines.push(`  ${f(s.calls, 2)} × ${f(s.meanMs, 3)} ms  ${s.query}`);
    }
    lines.push(
      `Redis per ${p.unit}: ${p.redisCallsPerUnit
        .slice(0, 10)
        .map((c) => `${c.command} ${f(c.calls, 2)} (${f(c.usecPerCall, 0)} µs)`)
        .join(', ')}`,
    );
    if (p.cpuProfile) {
      const cp = p.cpuProfile;
      lines.push(
        `CPU profile (${f(cp.sampledMs, 0)} ms sampled${cp.windowed ? ' in the phase' : ', whole process'}):`,
      );
      lines.push(
        `  by area: ${cp.byArea
          .slice(0, 12)
          .map((a) => `${a.area} ${(a.share * 100).toFixed(1)}%`)
          .join(', ')}`,
      );
      for (const fn of cp.topFunctions.slice(0, 15))
        lines.push(`  ${(fn.share * 100).toFixed(1)}%  ${fn.fn}`);
    }
  }
  return lines.join('\n');
}
