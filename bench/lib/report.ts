import type { RawBullmqResult } from '../scenarios/s1-raw-bullmq.ts';
import type { FleetThroughputResult } from '../scenarios/s2-fleet-throughput.ts';
import type { ApiSubmissionResult } from '../scenarios/s3-api-submission.ts';
import type { DispatchLatencyResult } from '../scenarios/s4-dispatch-latency.ts';
import type { CollectorDownResult } from '../scenarios/s5-collector-down.ts';
import type { ScalingResult } from '../scenarios/s6-scaling.ts';
import type { CompletenessResult } from '../scenarios/s7-completeness.ts';
import type { EventStreamsResult } from '../scenarios/s8-event-streams.ts';
import type { TenantFairnessResult } from '../scenarios/s9-tenant-fairness.ts';
import type { LargeOutputsResult } from '../scenarios/s10-large-outputs.ts';
import type { LatencyScalingResult } from '../scenarios/s11-latency-scaling.ts';
import type { MachineInfo } from './machine.ts';
import { ratio } from './stats.ts';

export interface BenchResults {
  mode: 'full' | 'smoke';
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  plan: unknown;
  s1?: RawBullmqResult;
  s2?: FleetThroughputResult;
  s3?: ApiSubmissionResult;
  s4?: DispatchLatencyResult;
  s5?: CollectorDownResult;
  s6?: ScalingResult;
  s7?: CompletenessResult;
  s8?: EventStreamsResult;
  s9?: TenantFairnessResult;
  s10?: LargeOutputsResult;
  s11?: LatencyScalingResult;
  targets: TargetCheck[];
  errors: { scenario: string; error: string }[];
}

export interface TargetCheck {
  id: string;
  label: string;
  value: number;
  display: string;
  target: string;
  met: boolean;
}

const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const fix = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');

/** The issue's targets, each a ratio or a figure of this run. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const add = (id: string, label: string, value: number, display: string, target: string, met: boolean) =>
    out.push({ id, label, value, display, target, met: Number.isFinite(value) && met });
  if (r.s2) {
    for (const key of ['oneNode', 'chain'] as const) {
      const w = r.s2[key];
      add(
        `tracing-overhead-${key}`,
        `Tracing: fleet nodes/s traced ÷ untraced (${w.workflow})`,
        w.ratio,
        fix(w.ratio),
        '≥ 0.95',
        w.ratio >= 0.95,
      );
    }
  }
  if (r.s2) {
    for (const key of ['oneNode', 'chain'] as const) {
      const w = r.s2[key];
      const extra =
        (w.traced.cpuMsPerNode.workers ?? Number.NaN) - (w.untraced.cpuMsPerNode.workers ?? Number.NaN);
      add(
        `tracing-worker-cpu-${key}`,
        `Tracing: worker CPU per node traced − untraced (${w.workflow})`,
        extra,
        `${fix(extra)} ms`,
        '≤ 0.1 ms',
        extra <= 0.1,
      );
    }
    const cpu = r.s2.chain.traced.cpuMsPerNode;
    add(
      'cpu-per-node-chain',
      `Machine CPU per node, traced (${r.s2.chain.workflow})`,
      cpu.total ?? Number.NaN,
      `${fix(cpu.total ?? Number.NaN)} ms`,
      '≤ 1.2 ms',
      (cpu.total ?? Number.NaN) <= 1.2,
    );
    add(
      'postgres-per-node-chain',
      `Postgres CPU per node, traced (${r.s2.chain.workflow})`,
      cpu.postgres ?? Number.NaN,
      `${fix(cpu.postgres ?? Number.NaN)} ms`,
      '≤ 0.5 ms',
      (cpu.postgres ?? Number.NaN) <= 0.5,
    );
  }
  if (r.s1 && r.s2) {
    for (const key of ['oneNode', 'chain'] as const) {
      const w = r.s2[key];
      const value = ratio(w.traced.nodesPerSecond, r.s1.processPerSecond);
      add(
        `orchestration-${key}`,
        `Orchestration: traced fleet nodes/s ÷ raw BullMQ jobs/s (${w.workflow})`,
        value,
        fix(value, 3),
        '≥ 0.25',
        value >= 0.25,
      );
    }
  }
  if (r.s3) {
    add(
      'api-vs-raw',
      'API: runs accepted/s traced ÷ raw queue.add jobs/s',
      r.s3.tracedOverRaw,
      fix(r.s3.tracedOverRaw, 3),
      '≥ 0.4',
      r.s3.tracedOverRaw >= 0.4,
    );
    add(
      'api-p99',
      `API: POST /v1/runs p99 latency, traced, ${r.s3.connections} connections`,
      r.s3.traced.p99Ms,
      ms(r.s3.traced.p99Ms),
      '≤ 50 ms',
      r.s3.traced.p99Ms <= 50,
    );
  }
  if (r.s4) {
    const d = r.s4.commitToStartMs;
    add(
      'dispatch-p50',
      'Dispatch latency p50 (commit → successor start, traced)',
      d.p50,
      ms(d.p50),
      '≤ 5 ms',
      d.p50 <= 5,
    );
    add(
      'dispatch-p99',
      'Dispatch latency p99 (commit → successor start, traced)',
      d.p99,
      ms(d.p99),
      '≤ 25 ms',
      d.p99 <= 25,
    );
  }
  if (r.s5) {
    add(
      'collector-down-throughput',
      'Collector down: nodes/s down ÷ up',
      r.s5.ratio,
      fix(r.s5.ratio),
      '≥ 0.95',
      r.s5.ratio >= 0.95,
    );
    add(
      'collector-down-memory',
      'Collector down: worker RSS growth',
      r.s5.workerRssGrowthMb,
      `${fix(r.s5.workerRssGrowthMb, 1)} MB`,
      '≤ 50 MB',
      r.s5.workerRssGrowthMb <= 50,
    );
    add(
      'collector-down-failed',
      'Collector down: failed runs',
      r.s5.failedRuns,
      String(r.s5.failedRuns),
      '0',
      r.s5.failedRuns === 0,
    );
  }
  if (r.s7) {
    add(
      'completeness-whole',
      'Completeness: runs with one whole trace ÷ runs',
      r.s7.wholeRatio,
      fix(r.s7.wholeRatio, 3),
      '1.000',
      r.s7.wholeRatio === 1,
    );
    add(
      'completeness-spans',
      'Completeness: required spans received ÷ expected',
      r.s7.requiredRatio,
      fix(r.s7.requiredRatio, 3),
      '1.000',
      r.s7.requiredRatio === 1,
    );
  }
  if (r.s10) {
    add(
      'large-outputs-flat',
      `Claim cost against run size: machine CPU per node, ${r.s10.points.at(-1)?.nodes}-node ÷ ${r.s10.points[0]?.nodes}-node fan-out`,
      r.s10.cpuGrowth,
      fix(r.s10.cpuGrowth),
      '≤ 1.2',
      r.s10.cpuGrowth <= 1.2,
    );
  }
  if (r.s11 && r.s11.linearPoints > 0) {
    add(
      'latency-scaling-linear',
      'Latency-bound scaling: speedup ÷ workers until the CPU saturates (lowest)',
      r.s11.minLinearEfficiency,
      fix(r.s11.minLinearEfficiency),
      '≥ 0.9',
      r.s11.minLinearEfficiency >= 0.9,
    );
  }
  const fair = r.s9?.phases.find((p) => p.order === 'fair');
  if (fair) {
    add(
      'fairness-p99',
      "Fairness: tenant b's run start delay p99, with tenant a's backlog queued",
      fair.startDelayMs.p99,
      ms(fair.startDelayMs.p99),
      '≤ 1000 ms',
      fair.startDelayMs.p99 <= 1000,
    );
  }
  return out;
}

/** The results table (Markdown): every figure of the run, targets beside the ones that have one. */
export function renderTable(r: BenchResults): string {
  const rows: string[][] = [];
  const target = (id: string) => r.targets.find((t) => t.id === id);
  const verdict = (id: string) => {
    const t = target(id);
    return t ? [t.target, t.met ? '**met**' : '**missed**'] : ['', ''];
  };
  if (r.s1) {
    rows.push(['1', 'Raw BullMQ `addBulk` (same Redis)', `${int(r.s1.addPerSecond)} jobs/s`, '', '']);
    rows.push([
      '1',
      `Raw BullMQ no-op \`Worker\`, concurrency ${r.s1.concurrency}`,
      `${int(r.s1.processPerSecond)} jobs/s`,
      'baseline',
      '',
    ]);
  }
  if (r.s2) {
    for (const key of ['oneNode', 'chain'] as const) {
      const w = r.s2[key];
      const name = key === 'oneNode' ? '1-node workflow' : `${w.nodesPerRun}-node chain`;
      rows.push(['2', `Fleet, ${name}: nodes/s untraced`, int(w.untraced.nodesPerSecond), '', '']);
      rows.push(['2', `Fleet, ${name}: nodes/s traced`, int(w.traced.nodesPerSecond), '', '']);
      rows.push([
        '2',
        `Fleet, ${name}: traced ÷ untraced`,
        fix(w.ratio),
        ...verdict(`tracing-overhead-${key}`),
      ]);
      const t = target(`orchestration-${key}`);
      if (t) rows.push(['2', `Fleet, ${name}: traced ÷ raw BullMQ`, t.display, ...verdict(t.id)]);
      for (const variantName of ['traced', 'untraced'] as const) {
        const cpu = w[variantName].cpuMsPerNode;
        rows.push(['2', `Fleet, ${name}, ${variantName}: CPU ms per node`, cpuLine(cpu), '', '']);
      }
      const extra = target(`tracing-worker-cpu-${key}`);
      if (extra)
        rows.push([
          '2',
          `Fleet, ${name}: worker CPU per node, traced − untraced`,
          extra.display,
          ...verdict(extra.id),
        ]);
    }
    rows.push([
      '2',
      'Machine CPU per node, traced chain',
      target('cpu-per-node-chain')?.display ?? 'n/a',
      ...verdict('cpu-per-node-chain'),
    ]);
    rows.push([
      '2',
      'Postgres CPU per node, traced chain',
      target('postgres-per-node-chain')?.display ?? 'n/a',
      ...verdict('postgres-per-node-chain'),
    ]);
  }
  if (r.s3) {
    const v = (x: ApiSubmissionResult['traced']) =>
      `${int(x.perSecond)}/s (p50 ${ms(x.p50Ms)}, p99 ${ms(x.p99Ms)})`;
    rows.push(['3', `\`POST /v1/runs\` untraced, ${r.s3.connections} connections`, v(r.s3.untraced), '', '']);
    rows.push(['3', `\`POST /v1/runs\` traced, ${r.s3.connections} connections`, v(r.s3.traced), '', '']);
    rows.push(['3', `Raw \`queue.add\`, ${r.s3.connections} in flight`, v(r.s3.raw), '', '']);
    rows.push(['3', 'API traced ÷ untraced', fix(r.s3.tracedOverUntraced), '', '']);
    rows.push(['3', 'API traced ÷ raw `queue.add`', fix(r.s3.tracedOverRaw, 3), ...verdict('api-vs-raw')]);
    rows.push(['3', 'API traced p99', ms(r.s3.traced.p99Ms), ...verdict('api-p99')]);
  }
  if (r.s4) {
    const d = r.s4;
    rows.push([
      '4',
      'Dispatch p50, commit → successor `process` start',
      ms(d.commitToStartMs.p50),
      ...verdict('dispatch-p50'),
    ]);
    rows.push([
      '4',
      'Dispatch p99, commit → successor `process` start',
      ms(d.commitToStartMs.p99),
      ...verdict('dispatch-p99'),
    ]);
    rows.push([
      '4',
      'of which commit → enqueued (p50 / p99)',
      `${ms(d.commitToSentMs.p50)} / ${ms(d.commitToSentMs.p99)}`,
      '',
      '',
    ]);
    rows.push([
      '4',
      'of which enqueued → picked up (p50 / p99)',
      `${ms(d.sentToStartMs.p50)} / ${ms(d.sentToStartMs.p99)}`,
      '',
      '',
    ]);
    rows.push([
      '4',
      'Consumer span end → successor start (p50 / p99)',
      `${ms(d.consumerEndToStartMs.p50)} / ${ms(d.consumerEndToStartMs.p99)}`,
      '',
      '',
    ]);
    rows.push([
      '4',
      'Fan-out/fan-in hops, commit → start (p50 / p99)',
      `${ms(d.fanCommitToStartMs.p50)} / ${ms(d.fanCommitToStartMs.p99)}`,
      '',
      '',
    ]);
    rows.push([
      '4',
      'Postgres `started_at − finished_at` (p50 / p99)',
      `${ms(d.postgresMs.p50)} / ${ms(d.postgresMs.p99)}`,
      '',
      '',
    ]);
  }
  if (r.s2) {
    const h = r.s2.saturatedHopsMs;
    rows.push([
      '4',
      'Dispatch at saturation (scenario 2 chain; queue wait) p50 / p99',
      `${ms(h.p50)} / ${ms(h.p99)}`,
      '',
      '',
    ]);
  }
  if (r.s5) {
    const c = r.s5;
    rows.push([
      '5',
      'Collector up / down: nodes/s',
      `${int(c.upNodesPerSecond)} / ${int(c.downNodesPerSecond)}`,
      '',
      '',
    ]);
    rows.push(['5', 'Collector down ÷ up', fix(c.ratio), ...verdict('collector-down-throughput')]);
    rows.push([
      '5',
      'Worker RSS max: warm-up (collector up) → up phases / down phases',
      `${fix(c.workerRssBaselineMb, 0)} → ${fix(c.workerRssMaxUpMb, 0)} / ${fix(c.workerRssMaxDownMb, 0)} MB`,
      '',
      '',
    ]);
    rows.push([
      '5',
      'Worker V8 heap used max: warm-up → up / down',
      `${fix(c.workerHeapBaselineMb, 0)} → ${fix(c.workerHeapMaxUpMb, 0)} / ${fix(c.workerHeapMaxDownMb, 0)} MB`,
      '',
      '',
    ]);
    rows.push([
      '5',
      'Worker RSS growth with the collector down (control: up phases)',
      `${fix(c.workerRssGrowthMb, 1)} MB (${fix(c.workerRssGrowthUpMb, 1)} MB)`,
      ...verdict('collector-down-memory'),
    ]);
    rows.push(['5', 'Failed runs', String(c.failedRuns), ...verdict('collector-down-failed')]);
    const dropped = Object.entries(c.spans.droppedByErrorType)
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(', ');
    rows.push([
      '5',
      'Spans dropped (SDK `span.processed` with `error.type`)',
      `${int(c.spans.dropped)} of ${int(c.spans.processed)}${dropped ? ` (${dropped})` : ''}; received ${int(
        c.spans.receivedByCollector,
      )} = exported ok ${int(c.spans.exportedOk)}`,
      '',
      '',
    ]);
    rows.push([
      '5',
      'Runs submitted while down / while up: whole traces after recovery',
      `${int(c.downRuns.wholeRuns)} of ${int(c.downRuns.runs)} (required spans ${fix(
        ratio(c.downRuns.requiredReceived, c.downRuns.requiredExpected),
      )}) / ${int(c.upRuns.wholeRuns)} of ${int(c.upRuns.runs)}`,
      '',
      '',
    ]);
  }
  if (r.s6) {
    const points = r.s6.points
      .map((p) => `${p.workers}: ${int(p.nodesPerSecond)} (×${fix(p.speedup)})`)
      .join(', ');
    rows.push(['6', `Workers → nodes/s (speedup), ${r.s6.cores} cores`, points, '', '']);
  }
  if (r.s7) {
    const c = r.s7;
    rows.push([
      '7',
      `Runs with one whole trace (${int(c.runs)} runs)`,
      fix(c.wholeRatio, 3),
      ...verdict('completeness-whole'),
    ]);
    rows.push([
      '7',
      'Required spans received ÷ expected',
      `${fix(c.requiredRatio, 3)} (${int(c.requiredReceived)} / ${int(c.requiredExpected)})`,
      ...verdict('completeness-spans'),
    ]);
    rows.push([
      '7',
      'All spans received ÷ processed by the SDKs',
      `${fix(c.sdk.receivedRatio, 3)} (${int(c.sdk.received)} / ${int(c.sdk.processed)})`,
      '',
      '',
    ]);
  }
  for (const p of r.s8?.phases ?? []) {
    rows.push([
      '8',
      `SSE, ${p.label} (${p.eventsPerRun} events per run): events delivered`,
      `${int(p.delivered)} of ${int(p.expected)} in ${fix(p.seconds, 1)} s`,
      '',
      '',
    ]);
    rows.push([
      '8',
      `SSE, ${p.label}: API CPU (same runs without readers)`,
      `${int(p.apiCpuMs)} ms (${int(p.baselineApiCpuMs)} ms); ${fix(p.apiCpuUsPerDelivery, 1)} µs per event delivered`,
      '',
      '',
    ]);
    rows.push([
      '8',
      `SSE, ${p.label}: Postgres CPU (without readers)`,
      `${int(p.postgresCpuMs)} ms (${int(p.baselinePostgresCpuMs)} ms)`,
      '',
      '',
    ]);
    rows.push([
      '8',
      `SSE, ${p.label}: event created → received (p50 / p99)`,
      `${ms(p.latencyMs.p50)} / ${ms(p.latencyMs.p99)}`,
      '',
      '',
    ]);
  }
  for (const p of r.s9?.phases ?? []) {
    rows.push([
      '9',
      `Tenant b's run start delay p50 / p99, tenant a's backlog queued (${p.order}; ${int(p.backlogLeft)} of a's runs still queued)`,
      `${ms(p.startDelayMs.p50)} / ${ms(p.startDelayMs.p99)}`,
      ...(p.order === 'fair' ? verdict('fairness-p99') : ['', '']),
    ]);
  }
  if (r.s10) {
    for (const p of r.s10.points) {
      rows.push([
        '10',
        `${p.nodes}-node fan-out, ~${Math.round(r.s10.outputBytes / 1024)} KiB outputs: nodes/s; CPU ms per node`,
        `${int(p.nodesPerSecond)}; ${cpuLine(p.cpuMsPerNode)}`,
        '',
        '',
      ]);
    }
    rows.push([
      '10',
      'CPU per node, largest ÷ smallest run: machine (worker, Postgres)',
      `${fix(r.s10.cpuGrowth)} (${fix(r.s10.workerCpuGrowth)}, ${fix(r.s10.postgresCpuGrowth)})`,
      ...verdict('large-outputs-flat'),
    ]);
  }
  if (r.s11) {
    const points = r.s11.points
      .map(
        (p) =>
          `${p.workers}: ${int(p.nodesPerSecond)} (×${fix(p.speedup)}, ${Math.round(p.machineUtilisation * 100)} % busy)`,
      )
      .join(', ');
    rows.push([
      '11',
      `Workers → nodes/s (speedup, machine busy), ${r.s11.latencyMs} ms provider, ${r.s11.cores} cores`,
      points,
      '',
      '',
    ]);
    rows.push([
      '11',
      'Lowest speedup ÷ workers before the CPU saturates; saturated at',
      `${fix(r.s11.minLinearEfficiency)}; ${r.s11.saturatedAt === null ? 'not saturated' : `${r.s11.saturatedAt} workers`}`,
      ...verdict('latency-scaling-linear'),
    ]);
  }
  const header = ['#', 'Measure', 'Value', 'Target', 'Result'];
  // Padded as Biome formats Markdown tables, so the regenerated page passes `biome check` as it is.
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 3)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** CPU milliseconds per node by component, as one table cell. */
function cpuLine(cpu: Record<string, number>): string {
  const f = (name: string) => fix(cpu[name] ?? Number.NaN);
  return `worker ${f('workers')}, Postgres ${f('postgres')}, Redis ${f('redis')}, API ${f('api')}, receiver ${f(
    'receiver',
  )}, machine ${f('total')}`;
}

export function renderMachine(r: BenchResults): string {
  const m = r.machine;
  const pg = Object.entries(m.postgresSettings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return [
    `- Run: ${r.startedAt}, ${r.mode} plan, ${Math.round(r.durationSeconds)} s; load average at start ${m.loadAverage.join(
      ' ',
    )}, at end ${r.loadAverageAtEnd.join(' ')}`,
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}`,
    `- Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres} (${pg}), BullMQ ${m.bullmq}, OpenTelemetry SDK ${m.otelSdk}`,
  ].join('\n');
}
