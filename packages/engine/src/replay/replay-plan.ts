import { FlowtraceError, successorsOf, type WorkflowDefinition } from '@flowtrace/workflow';

/** A node of the run being replayed, as it ended. */
export interface OriginalNode {
  nodeId: string;
  status: string;
}

export interface ReplayPlan {
  /** The nodes the replay executes: the replayed ones, everything downstream, and whatever did not complete. */
  execute: string[];
  /** Completed nodes whose output the replay takes as is, without executing them. */
  reuse: string[];
  /** Executed nodes whose dependencies are all reused: dispatched when the replay is created. */
  roots: string[];
  /** Per executed node, the dependencies it still waits for (those that are executed too). */
  remainingDeps: Map<string, number>;
  /** The nodes the replay starts from (`fromNodes`, or the failed and cancelled ones). */
  from: string[];
}

/**
 * Which nodes a replay executes and which it reuses. It starts from `fromNodes` (default: the nodes that
 * failed or were cancelled) and executes them, every node that did not complete, and everything downstream
 * of those; the other nodes completed and are reused, so the replay never calls a model or a connector for
 * them again.
 */
export function planReplay(
  definition: WorkflowDefinition,
  original: readonly OriginalNode[],
  fromNodes: readonly string[] | undefined,
): ReplayPlan {
  const ids = definition.nodes.map((n) => n.id);
  const known = new Set(ids);
  const statusOf = new Map(original.map((n) => [n.nodeId, n.status]));
  const unknown = (fromNodes ?? []).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new FlowtraceError(
      'replay_node_not_found',
      `the workflow has no node ${unknown.map((id) => `"${id}"`).join(', ')}; fromNodes must name nodes of ${definition.name}: ${ids.join(', ')}`,
      { details: { unknownNodes: unknown } },
    );
  }
  const from = [
    ...new Set(
      fromNodes ?? ids.filter((id) => statusOf.get(id) === 'failed' || statusOf.get(id) === 'cancelled'),
    ),
  ].sort();

  // Executed: the replayed nodes and the ones that did not complete, then everything downstream of them
  // (a node after one that runs again must run again too, e.g. after a continueOnFailure node).
  const successors = successorsOf(definition);
  const executed = new Set<string>();
  const pending = [...from, ...ids.filter((id) => statusOf.get(id) !== 'completed')];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (executed.has(id)) continue;
    executed.add(id);
    pending.push(...(successors.get(id) ?? []));
  }
  if (executed.size === 0) {
    throw new FlowtraceError(
      'nothing_to_replay',
      'every node of the run completed; name the nodes to execute again in fromNodes',
    );
  }

  const remainingDeps = new Map<string, number>();
  for (const node of definition.nodes) {
    if (executed.has(node.id))
      remainingDeps.set(node.id, node.dependsOn.filter((d) => executed.has(d)).length);
  }
  return {
    execute: ids.filter((id) => executed.has(id)),
    reuse: ids.filter((id) => !executed.has(id)),
    roots: ids.filter((id) => remainingDeps.get(id) === 0),
    remainingDeps,
    from,
  };
}
