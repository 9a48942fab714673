/** The benchmark's workflows: no-op `llm` nodes on the offline simulated provider (zero latency). */

export interface BenchWorkflow {
  name: string;
  nodes: { id: string; type: 'llm'; dependsOn?: string[]; config: Record<string, unknown> }[];
}

const noop = (id: string) => ({
  provider: 'simulated',
  model: 'sim-small',
  prompt: `Node ${id} of run {{input.seq}}`,
});

export function oneNode(): BenchWorkflow {
  return { name: 'bench-one-node', nodes: [{ id: 'n0', type: 'llm', config: noop('n0') }] };
}

/** n0 → n1 → … → n(k-1): every node but the first is dispatched by the worker that ran its predecessor. */
export function chain(length: number): BenchWorkflow {
  return {
    name: `bench-chain-${length}`,
    nodes: Array.from({ length }, (_, i) => ({
      id: `n${i}`,
      type: 'llm' as const,
      ...(i > 0 ? { dependsOn: [`n${i - 1}`] } : {}),
      config: noop(`n${i}`),
    })),
  };
}

/** split → `width` parallel branches → join (a join node with one parent and `width - 1` span links). */
export function fanOutIn(width: number): BenchWorkflow {
  const branches = Array.from({ length: width }, (_, i) => `b${i}`);
  return {
    name: `bench-fan-${width}`,
    nodes: [
      { id: 'split', type: 'llm', config: noop('split') },
      ...branches.map((id) => ({ id, type: 'llm' as const, dependsOn: ['split'], config: noop(id) })),
      { id: 'join', type: 'llm', dependsOn: branches, config: noop('join') },
    ],
  };
}

/**
 * root → `width` parallel leaves on `provider`: every leaf's only ancestor is the root, so what a leaf's
 * claim should read does not grow with the width (the leaves' outputs together are the run's output).
 */
export function fanOut(width: number, provider: string, maxTokens?: number): BenchWorkflow {
  const config = (id: string) => ({
    provider,
    model: 'sim-small',
    prompt: `Node ${id} of run {{input.seq}}`,
    ...(maxTokens ? { maxTokens } : {}),
  });
  return {
    name: `bench-fan-out-${width + 1}-${provider}`,
    nodes: [
      { id: 'root', type: 'llm', config: config('root') },
      ...Array.from({ length: width }, (_, i) => ({
        id: `leaf${i}`,
        type: 'llm' as const,
        dependsOn: ['root'],
        config: config(`leaf${i}`),
      })),
    ],
  };
}

/** `chain(length)` on another provider (a simulated one with latency, say). */
export function chainOn(length: number, provider: string): BenchWorkflow {
  const base = chain(length);
  return {
    name: `${base.name}-${provider}`,
    nodes: base.nodes.map((node) => ({ ...node, config: { ...node.config, provider } })),
  };
}
