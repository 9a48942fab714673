import { readFile } from 'node:fs/promises';

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) that the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Milliseconds of samples inside the window (all of the profile when `windowed` is false). */
  sampledMs: number;
  windowed: boolean;
  /** Self time per package or area, ms, largest first. */
  byArea: { area: string; ms: number; share: number }[];
  /** Self time per function, ms, largest first. */
  topFunctions: { fn: string; area: string; ms: number; share: number }[];
}

/** Where a frame's code lives: a package, a workspace package of ours, Node's internals, or V8 itself. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const ours = /\/(packages|apps)\/([^/]+)\//.exec(url);
  if (ours) return `${ours[1] === 'apps' ? 'app ' : '@flowtrace/'}${ours[2]}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? `internal/${parts[1] ?? ''}` : parts[0]}`;
  }
  return url;
}

const shortUrl = (url: string) =>
  url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(packages|apps)\//, '$1/');

/**
 * Self time per function and per area over the samples taken between `fromUs` and `toUs` (V8's monotonic
 * clock, the same CLOCK_MONOTONIC as `process.hrtime`), so that start-up and idle time stay out.
 */
export async function summarizeProfile(
  file: string,
  window?: { fromUs: number; toUs: number },
): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const overlaps = window !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const next = profile.timeDeltas[i + 1] ?? 0;
    if (overlaps && (t < window.fromUs || t > window.toUs)) continue;
    const id = profile.samples[i] as number;
    const frame = frames.get(id);
    if (frame?.functionName === '(idle)') continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + next);
    total += next;
  }
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { area: string; us: number }>();
  for (const [id, us] of selfUs) {
    const frame = frames.get(id);
    if (!frame) continue;
    const area = areaOf(frame.url, frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const key =
      `${frame.functionName || '(anonymous)'} ${frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''}`.trim();
    const entry = byFunction.get(key) ?? { area, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const share = (us: number) => (total > 0 ? us / total : 0);
  return {
    file,
    sampledMs: total / 1000,
    windowed: overlaps,
    byArea: [...byArea]
      .map(([area, us]) => ({ area, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 20),
    topFunctions: [...byFunction]
      .map(([fn, v]) => ({ fn, area: v.area, ms: v.us / 1000, share: share(v.us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 25),
  };
}
