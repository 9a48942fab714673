import type { Sql } from '@flowtrace/db';
import {
  ancestorsOf,
  FlowtraceError,
  parseWorkflowDefinition,
  successorsOf,
  type WorkflowDefinition,
  type WorkflowNode,
} from '@flowtrace/workflow';

/** A workflow version with the graph lookups execution needs, computed once. */
export class CompiledWorkflow {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly version: number;
  readonly definition: WorkflowDefinition;
  readonly #nodes: Map<string, WorkflowNode>;
  readonly #successors: Map<string, string[]>;
  readonly #ancestors = new Map<string, Set<string>>();
  readonly #ancestorLists = new Map<string, readonly string[]>();
  /** Nodes nothing depends on; their outputs are the run's output. */
  readonly sinks: readonly string[];

  constructor(row: {
    id: string;
    tenantId: string;
    name: string;
    version: number;
    definition: WorkflowDefinition;
  }) {
    this.id = row.id;
    this.tenantId = row.tenantId;
    this.name = row.name;
    this.version = row.version;
    this.definition = row.definition;
    this.#nodes = new Map(row.definition.nodes.map((n) => [n.id, n]));
    this.#successors = successorsOf(row.definition);
    this.sinks = [...this.#successors].filter(([, next]) => next.length === 0).map(([id]) => id);
  }

  node(nodeId: string): WorkflowNode {
    const node = this.#nodes.get(nodeId);
    if (!node) {
      throw new FlowtraceError(
        'not_found',
        `workflow "${this.name}" v${this.version} has no node "${nodeId}"`,
      );
    }
    return node;
  }

  successors(nodeId: string): readonly string[] {
    return this.#successors.get(nodeId) ?? [];
  }

  ancestors(nodeId: string): ReadonlySet<string> {
    let result = this.#ancestors.get(nodeId);
    if (!result) {
      result = ancestorsOf(this.definition, nodeId);
      this.#ancestors.set(nodeId, result);
    }
    return result;
  }

  /** The node's ancestors as a list (the outputs its claim reads), computed once. */
  ancestorList(nodeId: string): readonly string[] {
    let result = this.#ancestorLists.get(nodeId);
    if (!result) {
      result = [...this.ancestors(nodeId)].sort();
      this.#ancestorLists.set(nodeId, result);
    }
    return result;
  }
}

/**
 * Workflow versions by id, cached in memory: a version never changes once registered, so a worker reads
 * each one from Postgres once.
 */
export class WorkflowCatalog {
  readonly #sql: Sql;
  readonly #cache = new Map<string, Promise<CompiledWorkflow | null>>();
  readonly #maxEntries: number;

  constructor(deps: { sql: Sql; maxEntries?: number }) {
    this.#sql = deps.sql;
    this.#maxEntries = deps.maxEntries ?? 1_000;
  }

  get(workflowId: string): Promise<CompiledWorkflow | null> {
    let entry = this.#cache.get(workflowId);
    if (!entry) {
      entry = this.#load(workflowId);
      entry.catch(() => this.#cache.delete(workflowId));
      if (this.#cache.size >= this.#maxEntries) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(workflowId, entry);
    }
    return entry;
  }

  async #load(workflowId: string): Promise<CompiledWorkflow | null> {
    const [row] = await this
      .#sql`select id, tenant_id, name, version, definition from workflows where id = ${workflowId}`;
    if (!row) return null;
    return new CompiledWorkflow({
      id: row.id,
      tenantId: row.tenant_id,
      name: row.name,
      version: row.version,
      // Stored definitions were validated at registration; parsing again keeps types honest across upgrades.
      definition: parseWorkflowDefinition(row.definition),
    });
  }

  /** The config of an `llm` node of one of the tenant's workflows (for agent tools that run it). */
  async llmNode(ref: { tenantId: string; workflowId: string; nodeId: string }) {
    const workflow = await this.get(ref.workflowId).catch(() => null);
    if (!workflow || workflow.tenantId !== ref.tenantId) return undefined;
    const node = workflow.definition.nodes.find((n) => n.id === ref.nodeId);
    return node?.type === 'llm' ? node.config : undefined;
  }
}
