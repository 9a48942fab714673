import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process accounting from /proc (Linux): resident memory and CPU time of the fleet's processes, of Redis
 * and of every Postgres backend, so that a phase's CPU can be split per component and per node.
 */

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Resident set size in bytes, or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Read and write system calls a process has made (`/proc/<pid>/io`); zeros when it is gone. */
export function syscalls(pid: number): { reads: number; writes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return {
      reads: Number(/syscr:\s+(\d+)/.exec(io)?.[1] ?? 0),
      writes: Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? 0),
    };
  } catch {
    return { reads: 0, writes: 0 };
  }
}

/** User + system CPU time of a process, in milliseconds (0 when it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) are 11 and 12 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return 0;
  }
}

/** Pids whose command name is `comm` (e.g. `postgres`, `redis-server`). */
export function pidsByName(comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Busy and total CPU time of the whole machine (all cores), in milliseconds. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...values] = line.trim().split(/\s+/);
  const n = values.map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const scale = 1000 / clockTicks();
  return { busy: (total - idle) * scale, total: total * scale };
}

/** CPU milliseconds per process, per named group; `postgres` and `redis` are found by name. */
export interface CpuSample {
  groups: Record<string, Map<number, number>>;
  machineBusyMs: number;
  at: number;
}

export function sampleCpu(groups: Record<string, readonly (number | undefined)[]>): CpuSample {
  const out: Record<string, Map<number, number>> = {};
  const add = (name: string, pids: readonly (number | undefined)[]) => {
    const map = new Map<number, number>();
    for (const pid of pids) if (pid !== undefined) map.set(pid, cpuMs(pid));
    out[name] = map;
  };
  for (const [name, pids] of Object.entries(groups)) add(name, pids);
  add('postgres', pidsByName('postgres'));
  add('redis', pidsByName('redis-server'));
  return { groups: out, machineBusyMs: machineCpuMs().busy, at: performance.now() };
}

/**
 * CPU used between two samples, per group, in milliseconds: per process, so that a Postgres backend that
 * started in between counts from zero and one that exited is left out rather than subtracted.
 */
export function cpuDelta(before: CpuSample, after: CpuSample): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, pids] of Object.entries(after.groups)) {
    const earlier = before.groups[name] ?? new Map<number, number>();
    let total = 0;
    for (const [pid, ms] of pids) total += Math.max(0, ms - (earlier.get(pid) ?? 0));
    delta[name] = total;
  }
  delta.machine = Math.max(0, after.machineBusyMs - before.machineBusyMs);
  delta.wall = after.at - before.at;
  return delta;
}
