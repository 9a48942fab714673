import type { WorkflowDefinition } from './workflow-schema.ts';

/** Successor ids of each node (the reverse of `dependsOn`). */
export function successorsOf(definition: WorkflowDefinition): Map<string, string[]> {
  const successors = new Map<string, string[]>(definition.nodes.map((n) => [n.id, []]));
  for (const node of definition.nodes) {
    for (const dep of node.dependsOn) successors.get(dep)?.push(node.id);
  }
  return successors;
}

/** Every node a node depends on, directly or transitively. */
export function ancestorsOf(definition: WorkflowDefinition, nodeId: string): Set<string> {
  const byId = new Map(definition.nodes.map((n) => [n.id, n]));
  const result = new Set<string>();
  const pending = [...(byId.get(nodeId)?.dependsOn ?? [])];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (result.has(id)) continue;
    result.add(id);
    pending.push(...(byId.get(id)?.dependsOn ?? []));
  }
  return result;
}

/** Nodes with no dependencies: the ones a new run starts with. */
export function rootNodes(definition: WorkflowDefinition): string[] {
  return definition.nodes.filter((n) => n.dependsOn.length === 0).map((n) => n.id);
}
