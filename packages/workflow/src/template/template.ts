import { FlowtraceError } from '../errors/flowtrace-error.ts';

/**
 * Templates are strings with `{{ path }}` placeholders. A path starts at one of the scope's roots
 * (`input`, `nodes.<id>.output`, `args`, `run`) and walks object keys with `.key` and arrays with `[n]`.
 * A string that is exactly one placeholder keeps the value's JSON type in JSON templates; elsewhere
 * non-string values are inserted as JSON.
 */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*$/;

export type TemplateRoot = 'input' | 'nodes' | 'args' | 'run';
const ROOTS: readonly TemplateRoot[] = ['input', 'nodes', 'args', 'run'];

export interface TemplateReference {
  /** The placeholder's path as written, e.g. `nodes.classify.output.label`. */
  path: string;
  root: TemplateRoot;
  /** For `nodes.<id>...` paths, the node id. */
  nodeId?: string;
}

export interface TemplateScope {
  input?: unknown;
  nodes?: Record<string, { output: unknown }>;
  args?: unknown;
  run?: Record<string, unknown> | undefined;
}

/** Parses every placeholder of a template; throws `invalid_definition` on a malformed one. */
export function templateReferences(
  template: string,
  where: { nodeId?: string | undefined } = {},
): TemplateReference[] {
  const refs: TemplateReference[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const path = match[1] ?? '';
    refs.push(parseReference(path, where.nodeId));
  }
  return refs;
}

function parseReference(path: string, nodeId: string | undefined): TemplateReference {
  const fail = (why: string): never => {
    throw new FlowtraceError(
      'invalid_definition',
      `${nodePrefix(nodeId)}template placeholder "{{${path}}}" ${why}`,
      { nodeId },
    );
  };
  if (!PATH.test(path)) fail('is not a path like input.field or nodes.<id>.output.field');
  const segments = splitPath(path);
  const root = segments[0] as TemplateRoot;
  if (!ROOTS.includes(root)) fail(`must start with one of ${ROOTS.join(', ')}`);
  if (root === 'nodes') {
    const refNode = segments[1];
    if (refNode === undefined || segments[2] !== 'output')
      fail('must read a node output as nodes.<id>.output');
    return { path, root, nodeId: refNode as string };
  }
  return { path, root };
}

function splitPath(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((s) => s.length > 0);
}

function nodePrefix(nodeId: string | undefined): string {
  return nodeId === undefined ? '' : `node "${nodeId}": `;
}

function lookup(scope: TemplateScope, path: string, nodeId: string | undefined): unknown {
  let current: unknown = scope;
  for (const segment of splitPath(path)) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
      throw new FlowtraceError(
        'template_variable_missing',
        `${nodePrefix(nodeId)}template variable "${path}" is not defined (no "${segment}")`,
        { nodeId, details: { variable: path } },
      );
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Renders a string template; a missing variable throws `template_variable_missing` naming it. */
export function renderTemplate(
  template: string,
  scope: TemplateScope,
  where: { nodeId?: string | undefined } = {},
): string {
  return template.replace(PLACEHOLDER, (_whole, rawPath: string) => {
    parseReference(rawPath, where.nodeId);
    return stringify(lookup(scope, rawPath, where.nodeId));
  });
}

/**
 * Renders every string inside a JSON value. A string that is exactly one placeholder is replaced by
 * the referenced value itself, so `"{{ input.items }}"` yields an array, not its JSON text.
 */
export function renderJsonTemplate(
  value: unknown,
  scope: TemplateScope,
  where: { nodeId?: string | undefined } = {},
): unknown {
  if (typeof value === 'string') {
    const exact = /^\{\{\s*([^{}]*?)\s*\}\}$/.exec(value);
    if (exact?.[1] !== undefined) {
      parseReference(exact[1], where.nodeId);
      return lookup(scope, exact[1], where.nodeId);
    }
    return renderTemplate(value, scope, where);
  }
  if (Array.isArray(value)) return value.map((item) => renderJsonTemplate(item, scope, where));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, renderJsonTemplate(item, scope, where)]),
    );
  }
  return value;
}

/** Every template string inside a JSON value (for validating references at registration time). */
export function jsonTemplateStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(jsonTemplateStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(jsonTemplateStrings);
  return [];
}
