import type { BenchResults } from './report.ts';

/**
 * What would mean the harness itself is broken (as opposed to a target being missed): a scenario that
 * should have produced a figure did not, or produced one that cannot be a measurement. The smoke run
 * exits non-zero on these, never on a missed target.
 */
export function sanityProblems(r: BenchResults, only: Set<string> | undefined): string[] {
  const wanted = (n: string) => !only || only.has(n);
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const positive = (v: number | undefined) => v !== undefined && Number.isFinite(v) && v > 0;
  if (wanted('1'))
    check(positive(r.s1?.processPerSecond) && positive(r.s1?.addPerSecond), 's1: no raw BullMQ figures');
  if (wanted('2') && r.s2) {
    for (const w of [r.s2.oneNode, r.s2.chain]) {
      check(
        positive(w.traced.nodesPerSecond) && positive(w.untraced.nodesPerSecond),
        `s2 ${w.workflow}: no throughput`,
      );
      for (const rep of [...w.traced.reps, ...w.untraced.reps])
        check(
          rep.nodes === rep.runs * w.nodesPerRun,
          `s2 ${w.workflow}: ${rep.nodes} nodes ran for ${rep.runs} runs`,
        );
    }
  } else if (wanted('2')) problems.push('s2: no result');
  if (wanted('3')) {
    check(
      positive(r.s3?.traced.perSecond) && positive(r.s3?.untraced.perSecond) && positive(r.s3?.raw.perSecond),
      's3: no accepted runs or raw adds',
    );
  }
  if (wanted('4')) check((r.s4?.hops ?? 0) > 0, 's4: no dispatch hops measured');
  if (wanted('5')) {
    check((r.s5?.phases.length ?? 0) >= 2, 's5: missing phases');
    check((r.s5?.spans.processed ?? 0) > 0, 's5: the SDK span counters never arrived (metrics endpoint)');
    check(
      (r.s5?.phases ?? []).filter((p) => p.state === 'down').every((p) => p.spansReceived === 0),
      's5: spans were stored while the collector was meant to be down',
    );
  }
  if (wanted('6'))
    check(
      (r.s6?.points.length ?? 0) > 0 && r.s6?.points.every((p) => positive(p.nodesPerSecond)) === true,
      's6: no scaling points',
    );
  if (wanted('8')) {
    check((r.s8?.phases.length ?? 0) === 2, 's8: missing phases');
    for (const p of r.s8?.phases ?? [])
      check(
        p.delivered === p.expected && p.expected > 0,
        `s8 ${p.label}: ${p.delivered} of ${p.expected} events delivered`,
      );
  }
  if (wanted('9')) {
    check((r.s9?.phases.length ?? 0) > 0, 's9: no fairness phases');
    for (const p of r.s9?.phases ?? [])
      check(p.startDelayMs.count > 0, `s9 ${p.order}: no start delays of tenant b's runs`);
  }
  if (wanted('10')) {
    check((r.s10?.points.length ?? 0) >= 2, 's10: missing run sizes');
    for (const p of r.s10?.points ?? [])
      for (const rep of p.reps)
        check(
          rep.nodes === rep.runs * p.nodes,
          `s10 ${p.nodes}-node: ${rep.nodes} nodes ran for ${rep.runs} runs`,
        );
  }
  if (wanted('11'))
    check(
      (r.s11?.points.length ?? 0) > 0 && r.s11?.points.every((p) => positive(p.nodesPerSecond)) === true,
      's11: no scaling points',
    );
  if (wanted('7') && (wanted('2') || wanted('4') || wanted('6') || wanted('10') || wanted('11'))) {
    check((r.s7?.runs ?? 0) > 0 && (r.s7?.requiredReceived ?? 0) > 0, 's7: no traced runs received');
  }
  return problems;
}
