import { formatDuration } from '../../lib/format.ts';
import type { Timeline, TimelineSegment } from '../../lib/timeline-model.ts';

const KIND_LABELS: Record<TimelineSegment['kind'], string> = {
  waiting: 'waiting',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  retried: 'failed, retried',
  cancelled: 'cancelled',
};

const STEPS_MS = [
  10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  1_800_000, 3_600_000,
];

/** Axis ticks: about five, at a round step. */
function ticks(spanMs: number): number[] {
  const step = STEPS_MS.find((s) => spanMs / s <= 6) ?? Math.ceil(spanMs / 6 / 3_600_000) * 3_600_000;
  const result: number[] = [];
  for (let t = 0; t <= spanMs; t += step) result.push(t);
  return result;
}

/**
 * A Gantt chart of node attempts: when each node waited (queued, or backing off before a retry) and when
 * each attempt ran, coloured by how it ended.
 */
export function TimelineView(props: {
  timeline: Timeline;
  selected: string | null;
  onSelect: (nodeId: string) => void;
}) {
  const { timeline } = props;
  const span = Math.max(1, timeline.end - timeline.start);
  const pct = (t: number) => `${(((t - timeline.start) / span) * 100).toFixed(3)}%`;
  const width = (s: TimelineSegment) => `${Math.max(0.4, ((s.end - s.start) / span) * 100).toFixed(3)}%`;

  return (
    <div class="timeline">
      <div class="timeline-axis">
        <div class="timeline-label" />
        <div class="timeline-track">
          {ticks(span).map((t) => (
            <span class="timeline-tick" style={{ left: pct(timeline.start + t) }}>
              {formatDuration(t)}
            </span>
          ))}
        </div>
      </div>
      {timeline.rows.map((row) => (
        <div
          key={row.nodeId}
          class={`timeline-row${props.selected === row.nodeId ? ' selected' : ''}`}
          data-node-id={row.nodeId}
        >
          <button
            type="button"
            class="timeline-label"
            title={row.nodeId}
            onClick={() => props.onSelect(row.nodeId)}
          >
            <span class="timeline-node">{row.nodeId}</span>
            {row.attempts > 1 ? <span class="timeline-attempts">{row.attempts} attempts</span> : null}
            {row.reused ? <span class="timeline-attempts">reused</span> : null}
          </button>
          <div class="timeline-track">
            {ticks(span).map((t) => (
              <span class="timeline-grid" style={{ left: pct(timeline.start + t) }} />
            ))}
            {row.segments.map((segment) => (
              <span
                class={`timeline-seg seg-${segment.kind}${segment.open ? ' open' : ''}`}
                data-kind={segment.kind}
                style={{ left: pct(segment.start), width: width(segment) }}
                title={`attempt ${segment.attempt} · ${KIND_LABELS[segment.kind]} · ${formatDuration(segment.end - segment.start)}`}
              />
            ))}
          </div>
        </div>
      ))}
      <div class="legend">
        {(['waiting', 'running', 'completed', 'retried', 'failed', 'cancelled'] as const).map((kind) => (
          <span class="legend-item">
            <span class={`legend-swatch seg-${kind}`} />
            {KIND_LABELS[kind]}
          </span>
        ))}
      </div>
    </div>
  );
}
