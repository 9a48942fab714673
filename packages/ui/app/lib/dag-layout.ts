import { Graph, layout } from '@dagrejs/dagre';

export interface DagInputNode {
  id: string;
  dependsOn: readonly string[];
}

export interface PlacedNode {
  id: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /** SVG path data from the predecessor's right edge to the successor's left edge. */
  path: string;
}

export interface DagLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

export const NODE_WIDTH = 172;
export const NODE_HEIGHT = 64;
const MARGIN = 16;

/**
 * Lays a workflow out left to right with dagre (layered, edge crossings minimised). Dependencies on
 * unknown nodes are ignored, so a partial view still lays out.
 */
export function layoutDag(nodes: readonly DagInputNode[]): DagLayout {
  const graph = new Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 20, ranksep: 44, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const node of nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const node of nodes) {
    for (const dependency of node.dependsOn) if (ids.has(dependency)) graph.setEdge(dependency, node.id);
  }
  layout(graph);

  const placed: PlacedNode[] = nodes.map((node) => {
    const label = graph.node(node.id) as { x: number; y: number };
    return {
      id: node.id,
      x: label.x - NODE_WIDTH / 2,
      y: label.y - NODE_HEIGHT / 2,
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
    };
  });
  const byId = new Map(placed.map((n) => [n.id, n]));
  const edges: PlacedEdge[] = graph.edges().map((edge: { v: string; w: string }) => {
    const from = byId.get(edge.v) as PlacedNode;
    const to = byId.get(edge.w) as PlacedNode;
    return { from: edge.v, to: edge.w, path: edgePath(from, to) };
  });
  const width = Math.max(0, ...placed.map((n) => n.x + n.width)) + MARGIN;
  const height = Math.max(0, ...placed.map((n) => n.y + n.height)) + MARGIN;
  return { width, height, nodes: placed, edges };
}

/** A horizontal cubic Bézier between two boxes, which reads better than dagre's polyline at this size. */
function edgePath(from: PlacedNode, to: PlacedNode): string {
  const x1 = from.x + from.width;
  const y1 = from.y + from.height / 2;
  const x2 = to.x;
  const y2 = to.y + to.height / 2;
  const bend = Math.max(24, (x2 - x1) / 2);
  return `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
}
