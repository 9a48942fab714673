import { eventSeq, type RunDetail, type RunEvent, type RunNode } from '../api/types.ts';

export type SegmentKind = 'waiting' | 'running' | 'completed' | 'failed' | 'retried' | 'cancelled';

export interface TimelineSegment {
  kind: SegmentKind;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  /** The attempt this segment belongs to (waiting segments: the attempt they wait for). */
  attempt: number;
  /** Still going: the end is "now". */
  open: boolean;
}

export interface TimelineRow {
  nodeId: string;
  segments: TimelineSegment[];
  attempts: number;
  reused: boolean;
}

export interface Timeline {
  start: number;
  end: number;
  rows: TimelineRow[];
}

const ENDINGS: Record<string, SegmentKind> = {
  'node.completed': 'completed',
  'node.failed': 'failed',
  'node.retried': 'retried',
  'node.cancelled': 'cancelled',
};

/**
 * Each node's attempts as time segments, from the run's lifecycle events: waiting (queued, or backing
 * off before a retry), then each attempt running until it completed, failed, was retried or cancelled.
 * Without events for a node (an older server, a page still loading) the node's own timestamps are used.
 */
export function buildTimeline(run: RunDetail, events: readonly RunEvent[], now = Date.now()): Timeline {
  const ms = (iso: string | null) => (iso ? Date.parse(iso) : Number.NaN);
  const runStart = ms(run.createdAt);
  const runEnd = run.finishedAt ? ms(run.finishedAt) : now;
  const byNode = new Map<string, RunEvent[]>();
  for (const event of [...events].sort((a, b) => eventSeq(a) - eventSeq(b))) {
    if (!event.nodeId) continue;
    const list = byNode.get(event.nodeId) ?? [];
    list.push(event);
    byNode.set(event.nodeId, list);
  }

  const rows = inGraphOrder(run.nodes).map((node): TimelineRow => {
    const segments: TimelineSegment[] = [];
    const nodeEvents = byNode.get(node.nodeId) ?? [];
    const active = node.status === 'running' || node.status === 'queued';
    let waitingSince = ms(node.queuedAt);
    let running: { start: number; attempt: number } | null = null;
    let attempt = 0;
    const closeRunning = (end: number, kind: SegmentKind) => {
      if (!running) return;
      segments.push({ kind, start: running.start, end, attempt: running.attempt, open: false });
      running = null;
    };

    for (const event of nodeEvents) {
      const at = ms(event.createdAt);
      if (event.type === 'node.started') {
        closeRunning(at, 'failed');
        attempt = event.attempt ?? attempt + 1;
        if (!Number.isNaN(waitingSince) && at > waitingSince) {
          segments.push({ kind: 'waiting', start: waitingSince, end: at, attempt, open: false });
        }
        waitingSince = Number.NaN;
        running = { start: at, attempt };
        continue;
      }
      const ending = ENDINGS[event.type];
      if (!ending) continue;
      if (running) closeRunning(at, ending);
      else if (ending === 'cancelled' && !Number.isNaN(waitingSince) && at > waitingSince) {
        segments.push({ kind: 'waiting', start: waitingSince, end: at, attempt: attempt + 1, open: false });
      }
      waitingSince = ending === 'retried' ? at : Number.NaN;
    }

    if (nodeEvents.length === 0 && node.startedAt) {
      // No events: one bar from the node's own timestamps.
      const start = ms(node.startedAt);
      const queued = ms(node.queuedAt);
      if (!Number.isNaN(queued) && start > queued) {
        segments.push({ kind: 'waiting', start: queued, end: start, attempt: node.attempts, open: false });
      }
      if (node.finishedAt) {
        const kind = (ENDINGS[`node.${node.status}`] ?? 'completed') as SegmentKind;
        segments.push({ kind, start, end: ms(node.finishedAt), attempt: node.attempts, open: false });
      } else if (active) {
        running = { start, attempt: node.attempts };
      }
      waitingSince = Number.NaN;
    }

    const current = running as { start: number; attempt: number } | null;
    if (current) {
      const ending = ENDINGS[`node.${node.status}`];
      if (ending && node.finishedAt) {
        // The node row has already moved on; its closing event has not arrived yet.
        segments.push({
          kind: ending,
          start: current.start,
          end: ms(node.finishedAt),
          attempt: current.attempt,
          open: false,
        });
      } else {
        segments.push({
          kind: 'running',
          start: current.start,
          end: Math.max(now, current.start),
          attempt: current.attempt,
          open: true,
        });
      }
    } else if (active && !Number.isNaN(waitingSince)) {
      segments.push({
        kind: 'waiting',
        start: waitingSince,
        end: Math.max(now, waitingSince),
        attempt: attempt + 1,
        open: true,
      });
    }
    return {
      nodeId: node.nodeId,
      segments,
      attempts: Math.max(attempt, node.attempts),
      reused: node.reused === true,
    };
  });

  const times = rows.flatMap((r) => r.segments.flatMap((s) => [s.start, s.end])).filter(Number.isFinite);
  const start = Math.min(Number.isFinite(runStart) ? runStart : Number.POSITIVE_INFINITY, ...times);
  const end = Math.max(Number.isFinite(runEnd) ? runEnd : Number.NEGATIVE_INFINITY, ...times);
  return {
    start: Number.isFinite(start) ? start : now,
    end: Number.isFinite(end) && end > start ? end : (Number.isFinite(start) ? start : now) + 1,
    rows,
  };
}

/**
 * Nodes in the order the graph reads, left to right: by depth (the longest chain of dependencies leading
 * to the node), then in the order the API listed them.
 */
export function inGraphOrder(nodes: readonly RunNode[]): RunNode[] {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    // A cycle cannot come from a validated workflow; stop rather than recurse forever.
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const deps = (byId.get(id)?.dependsOn ?? []).filter((d) => byId.has(d));
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(depthOf));
    visiting.delete(id);
    depth.set(id, value);
    return value;
  };
  return nodes
    .map((node, index) => ({ node, index, depth: depthOf(node.nodeId) }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .map((entry) => entry.node);
}
