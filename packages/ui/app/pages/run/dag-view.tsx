import { useMemo } from 'preact/hooks';
import type { RunNode } from '../../api/types.ts';
import { layoutDag } from '../../lib/dag-layout.ts';
import { formatDuration } from '../../lib/format.ts';

/** Below this scale the labels get too small to read: the graph scrolls instead. */
const MIN_SCALE = 0.75;

const STATUS_WORDS: Record<string, string> = {
  pending: 'pending',
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

/**
 * The workflow as a left-to-right graph (dagre), each node coloured by its live status, with its type,
 * duration and retries. It shrinks to fit its card down to `MIN_SCALE`, then scrolls. Nodes are buttons:
 * selecting one shows its details.
 */
export function DagView(props: {
  nodes: RunNode[];
  selected: string | null;
  onSelect: (nodeId: string) => void;
}) {
  const shapeKey = props.nodes.map((n) => `${n.nodeId}<${(n.dependsOn ?? []).join(',')}`).join('|');
  // Laid out again only when the graph's shape changes, not on every status update.
  const layout = useMemo(
    () => layoutDag(props.nodes.map((n) => ({ id: n.nodeId, dependsOn: n.dependsOn ?? [] }))),
    [shapeKey],
  );
  const byId = new Map(props.nodes.map((n) => [n.nodeId, n]));
  const edgeStatus = (from: string) => byId.get(from)?.status ?? 'pending';

  return (
    <div class="dag-scroll">
      <svg
        class="dag"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        style={{ minWidth: `${Math.round(layout.width * MIN_SCALE)}px` }}
      >
        <title>Workflow graph</title>
        <defs>
          <marker
            id="dag-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrow" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            d={edge.path}
            class={`dag-edge edge-${edgeStatus(edge.from)}`}
            marker-end="url(#dag-arrow)"
          />
        ))}
        {layout.nodes.map((placed) => {
          const node = byId.get(placed.id);
          if (!node) return null;
          const selected = props.selected === node.nodeId;
          const details = [
            node.type,
            node.durationMs !== null ? formatDuration(node.durationMs) : null,
            node.reused ? 'reused' : null,
          ];
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>; it takes the role and keys
            <g
              key={node.nodeId}
              class={`dag-node status-${node.status}${selected ? ' selected' : ''}`}
              data-node-id={node.nodeId}
              data-status={node.status}
              transform={`translate(${placed.x}, ${placed.y})`}
              role="button"
              tabIndex={0}
              aria-pressed={selected}
              aria-label={`${node.nodeId}: ${node.type}, ${STATUS_WORDS[node.status] ?? node.status}`}
              onClick={() => props.onSelect(node.nodeId)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  props.onSelect(node.nodeId);
                }
              }}
            >
              <rect
                class="dag-ring"
                x={-4}
                y={-4}
                width={placed.width + 8}
                height={placed.height + 8}
                rx={13}
              />
              <rect class="dag-box" width={placed.width} height={placed.height} rx={10} />
              <rect class="dag-stripe" width={6} height={placed.height} rx={3} />
              <text class="dag-title" x={18} y={25}>
                {truncate(node.nodeId, 20)}
              </text>
              <text class="dag-meta" x={18} y={45}>
                {details.filter(Boolean).join(' · ')}
              </text>
              <g transform={`translate(${placed.width - 16}, 20)`}>
                <circle class="dag-status-dot" r={5} />
              </g>
              {node.attempts > 1 ? (
                <text class="dag-retries" x={placed.width - 28} y={24} text-anchor="end">
                  <title>{`attempt ${node.attempts} of ${node.maxAttempts}`}</title>×{node.attempts}
                </text>
              ) : null}
              <title>{`${node.nodeId} (${node.type}): ${node.status}`}</title>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
