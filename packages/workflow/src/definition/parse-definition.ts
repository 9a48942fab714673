import type { z } from 'zod';
import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { jsonTemplateStrings, templateReferences } from '../template/template.ts';
import { assertJsonSchemas } from './json-schemas.ts';
import { DEFINITION_LIMITS, jsonByteLength } from './limits.ts';
import { isNodeType, NODE_CONFIG_SCHEMAS, NODE_TYPES } from './node-configs.ts';
import { assertStorableClientJson } from './storable-json.ts';
import { assertUrlTemplates } from './url-templates.ts';
import {
  nodeEnvelopeSchema,
  type WorkflowDefinition,
  type WorkflowNode,
  workflowEnvelopeSchema,
} from './workflow-schema.ts';

/** Formats a zod issue list as `path: message; ...`, with the path prefixed by `prefix`. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
        .filter((p) => p !== '')
        .join('.')
        .replace(/\.\[/g, '[');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Validates a workflow definition from an untrusted source and returns it with defaults applied.
 * Errors carry a distinct code and a message that names the offending node.
 */
export function parseWorkflowDefinition(raw: unknown): WorkflowDefinition {
  // Nesting first: measuring, schema checks and template scans all recurse into the value.
  assertStorableClientJson(raw, 'workflow');
  if (jsonByteLength(raw) > DEFINITION_LIMITS.maxDefinitionBytes) {
    throw new FlowtraceError(
      'definition_too_large',
      `workflow definition is larger than ${DEFINITION_LIMITS.maxDefinitionBytes} bytes`,
    );
  }
  const envelope = workflowEnvelopeSchema.safeParse(raw);
  if (!envelope.success) {
    throw new FlowtraceError(
      'invalid_definition',
      `invalid workflow definition: ${formatIssues(envelope.error)}`,
    );
  }

  const nodes: WorkflowNode[] = envelope.data.nodes.map((rawNode, index) => parseNode(rawNode, index));

  const ids = new Set<string>();
  for (const node of nodes) {
    if (ids.has(node.id)) {
      throw new FlowtraceError('duplicate_node_id', `node id "${node.id}" is used by more than one node`, {
        nodeId: node.id,
      });
    }
    ids.add(node.id);
  }
  for (const node of nodes) {
    for (const dep of node.dependsOn) {
      if (dep === node.id) {
        throw new FlowtraceError('workflow_cycle', `node "${node.id}" depends on itself`, {
          nodeId: node.id,
        });
      }
      if (!ids.has(dep)) {
        throw new FlowtraceError(
          'unknown_dependency',
          `node "${node.id}" depends on "${dep}", which is not a node of this workflow`,
          { nodeId: node.id, details: { dependency: dep } },
        );
      }
    }
    if (new Set(node.dependsOn).size !== node.dependsOn.length) {
      throw new FlowtraceError('invalid_definition', `node "${node.id}" lists the same dependency twice`, {
        nodeId: node.id,
      });
    }
  }
  assertAcyclic(nodes);
  assertTemplateReferences(nodes);
  assertUrlTemplates(nodes);
  assertJsonSchemas(nodes);

  return {
    name: envelope.data.name,
    ...(envelope.data.description === undefined ? {} : { description: envelope.data.description }),
    ...(envelope.data.timeoutMs === undefined ? {} : { timeoutMs: envelope.data.timeoutMs }),
    nodes,
  };
}

function parseNode(rawNode: unknown, index: number): WorkflowNode {
  const rawId =
    rawNode !== null && typeof rawNode === 'object' && typeof (rawNode as { id?: unknown }).id === 'string'
      ? (rawNode as { id: string }).id
      : undefined;
  const label = rawId === undefined ? `nodes[${index}]` : `node "${rawId}"`;
  const rawType =
    rawNode !== null && typeof rawNode === 'object' ? (rawNode as { type?: unknown }).type : undefined;
  if (rawType !== undefined && !isNodeType(rawType)) {
    throw new FlowtraceError(
      'unknown_node_type',
      `${label} has unknown type ${JSON.stringify(rawType)}; expected one of ${NODE_TYPES.join(', ')}`,
      { nodeId: rawId },
    );
  }
  const envelope = nodeEnvelopeSchema.safeParse(rawNode);
  if (!envelope.success) {
    throw new FlowtraceError('invalid_definition', `${label} is invalid: ${formatIssues(envelope.error)}`, {
      nodeId: rawId,
    });
  }
  const node = envelope.data;
  const config = NODE_CONFIG_SCHEMAS[node.type].safeParse(node.config ?? {});
  if (!config.success) {
    throw new FlowtraceError(
      'invalid_definition',
      `node "${node.id}" (${node.type}) has an invalid config: ${formatIssues(config.error, 'config')}`,
      { nodeId: node.id },
    );
  }
  return { ...node, config: config.data } as WorkflowNode;
}

function assertAcyclic(nodes: WorkflowNode[]): void {
  const deps = new Map(nodes.map((n) => [n.id, n.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    const seen = state.get(id);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      throw new FlowtraceError(
        'workflow_cycle',
        `nodes ${cycle.map((n) => `"${n}"`).join(' → ')} form a cycle; a workflow must be a DAG`,
        { nodeId: id, details: { cycle } },
      );
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) visit(dep);
    stack.pop();
    state.set(id, 'done');
  };
  for (const node of nodes) visit(node.id);
}

/** Every template may read only the run input and outputs of nodes it (transitively) depends on. */
function assertTemplateReferences(nodes: WorkflowNode[]): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const ancestors = new Map<string, Set<string>>();
  const ancestorsOf = (id: string): Set<string> => {
    const cached = ancestors.get(id);
    if (cached) return cached;
    const result = new Set<string>();
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      result.add(dep);
      for (const a of ancestorsOf(dep)) result.add(a);
    }
    ancestors.set(id, result);
    return result;
  };
  for (const node of nodes) {
    const allowArgs = node.type === 'agent';
    for (const text of jsonTemplateStrings(node.config)) {
      for (const ref of templateReferences(text, { nodeId: node.id })) {
        if (ref.root === 'args' && !allowArgs) {
          throw new FlowtraceError(
            'unknown_template_reference',
            `node "${node.id}": "{{${ref.path}}}" reads tool arguments, which exist only inside agent tools`,
            { nodeId: node.id },
          );
        }
        if (ref.nodeId !== undefined && !ancestorsOf(node.id).has(ref.nodeId)) {
          const why = byId.has(ref.nodeId)
            ? `node "${ref.nodeId}" is not among its dependencies; add it to dependsOn`
            : `there is no node "${ref.nodeId}"`;
          throw new FlowtraceError(
            'unknown_template_reference',
            `node "${node.id}": template "{{${ref.path}}}" cannot be resolved: ${why}`,
            { nodeId: node.id },
          );
        }
      }
    }
  }
}
