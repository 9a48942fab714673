import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { DEFINITION_LIMITS, STORED_JSON_MAX_DEPTH } from './limits.ts';

/**
 * What Postgres cannot store, and how to find or repair it without recursion: `text` refuses U+0000,
 * `jsonb` refuses the `\u0000` escape and unpaired UTF-16 surrogates (which JSON.stringify writes as
 * `\udXXX` escapes), and both parsers give up on deeply nested JSON ("stack depth limit exceeded"), as
 * does V8's JSON.stringify (a RangeError) well before that. Values from clients are rejected; values from
 * targets and providers are repaired before they are written (see the engine's stores).
 */

export type JsonTextProblem =
  | { kind: 'depth'; path: string; maxDepth: number }
  | { kind: 'nul'; path: string }
  | { kind: 'surrogate'; path: string; codeUnit: number };

/** What replaces NUL and unpaired surrogates in repaired values. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/** Whether Postgres can store this string as `text` and inside `jsonb`. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** The string with NUL and unpaired surrogates replaced by U+FFFD. */
export function toStorableText(text: string): string {
  return isStorableText(text) ? text : text.toWellFormed().replaceAll('\u0000', REPLACEMENT_CHARACTER);
}

function textProblem(text: string, path: string): JsonTextProblem | null {
  if (text.includes('\u0000')) return { kind: 'nul', path };
  if (text.isWellFormed()) return null;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return { kind: 'surrogate', path, codeUnit: unit };
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return { kind: 'surrogate', path, codeUnit: unit };
    }
  }
  return null;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `parent.key`, or `parent["odd key"]`; long keys are shortened (the path is for messages). */
function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key) && key.length <= 64) return parent === '' ? key : `${parent}.${key}`;
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return `${parent}[${JSON.stringify(shown)}]`;
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return value !== null && typeof value === 'object';
}

/**
 * The first thing in a JSON value that Postgres could not store: a container nested deeper than
 * `maxDepth` (the root object or array is depth 1), or a string or object key holding U+0000 or an
 * unpaired surrogate (unless `depthOnly`). Iterative, so any depth is safe to inspect. Paths start at
 * `root`.
 */
export function findJsonTextProblem(
  value: unknown,
  options: { maxDepth: number; root?: string; depthOnly?: boolean },
): JsonTextProblem | null {
  const checkText = options.depthOnly !== true;
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value, path: options.root ?? '', depth: isContainer(value) ? 1 : 0 },
  ];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof item.value === 'string') {
      if (!checkText) continue;
      const problem = textProblem(item.value, item.path);
      if (problem) return problem;
      continue;
    }
    if (!isContainer(item.value)) continue;
    if (item.depth > options.maxDepth) return { kind: 'depth', path: item.path, maxDepth: options.maxDepth };
    if (Array.isArray(item.value)) {
      for (let i = item.value.length - 1; i >= 0; i--) {
        const child = item.value[i];
        stack.push({ value: child, path: childPath(item.path, i), depth: item.depth + 1 });
      }
      continue;
    }
    for (const [key, child] of Object.entries(item.value)) {
      const path = childPath(item.path, key);
      const keyProblem = checkText ? textProblem(key, path) : null;
      if (keyProblem) return keyProblem;
      stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return null;
}

/** A sentence describing a problem, for error messages and events. */
export function describeJsonTextProblem(problem: JsonTextProblem): string {
  const where = problem.path === '' ? 'the value' : problem.path;
  switch (problem.kind) {
    case 'depth':
      return `${where} is nested deeper than ${problem.maxDepth} levels`;
    case 'nul':
      return `${where} contains U+0000 (NUL), which cannot be stored`;
    case 'surrogate':
      return `${where} contains an unpaired UTF-16 surrogate (U+${problem.codeUnit.toString(16).toUpperCase()}), which is not valid Unicode`;
    default:
      return assertNever(problem);
  }
}

export interface StorableJson<T> {
  value: T;
  /** Paths of what was replaced (at most `maxReported`), and how many replacements there were in all. */
  replaced: { paths: string[]; count: number };
}

/**
 * The value with every NUL and unpaired surrogate (in strings and object keys) replaced by U+FFFD and
 * every container deeper than `maxDepth` replaced by a short string saying so, so that Postgres accepts
 * it. Values that need no repair are returned as they are (no copy). Objects with `toJSON` (dates) are
 * serialized as JSON.stringify would.
 */
export function toStorableJson<T>(
  value: T,
  options: { maxDepth: number; root?: string; maxReported?: number },
): StorableJson<T> {
  const replaced = { paths: [] as string[], count: 0 };
  if (findJsonTextProblem(value, options) === null) return { value, replaced };
  const maxReported = options.maxReported ?? 10;
  const note = (path: string) => {
    replaced.count++;
    if (replaced.paths.length < maxReported) replaced.paths.push(path === '' ? '(root)' : path);
  };
  // Recursion is bounded: containers past maxDepth are not entered.
  const repair = (input: unknown, path: string, depth: number): unknown => {
    let current = input;
    if (isContainer(current) && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
      current = (current as { toJSON: () => unknown }).toJSON();
    }
    if (typeof current === 'string') {
      if (isStorableText(current)) return current;
      note(path);
      return toStorableText(current);
    }
    if (!isContainer(current)) return current;
    if (depth > options.maxDepth) {
      note(path);
      return tooDeepMarker(options.maxDepth);
    }
    if (Array.isArray(current)) return current.map((item, i) => repair(item, childPath(path, i), depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(current)) {
      const childAt = childPath(path, key);
      let storedKey = key;
      if (!isStorableText(key)) {
        note(childAt);
        storedKey = toStorableText(key);
      }
      // defineProperty, not assignment: a "__proto__" key must stay a key, not replace the prototype.
      Object.defineProperty(out, storedKey, {
        value: repair(child, childAt, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return { value: repair(value, options.root ?? '', isContainer(value) ? 1 : 0) as T, replaced };
}

/** What replaces a container nested deeper than `maxDepth`. */
function tooDeepMarker(maxDepth: number): string {
  return `[removed: nested deeper than ${maxDepth} levels]`;
}

/**
 * The value with every container nested deeper than `maxDepth` (default `STORED_JSON_MAX_DEPTH`)
 * replaced by the marker `toStorableJson` uses; returned as it is (no copy) when nothing is that deep.
 * For JSON from targets and providers that is serialized or walked recursively other than as a node's
 * output (span content, step rows, tool results, error excerpts, tool-call arguments): JSON.stringify and
 * recursive code overflow the stack on deeper values. Objects with `toJSON` are serialized first.
 */
export function limitJsonDepth<T>(value: T, maxDepth: number = STORED_JSON_MAX_DEPTH): T {
  if (findJsonTextProblem(value, { maxDepth, depthOnly: true }) === null) return value;
  // Recursion is bounded: containers past maxDepth are not entered.
  const cut = (input: unknown, depth: number): unknown => {
    let current = input;
    if (isContainer(current) && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
      current = (current as { toJSON: () => unknown }).toJSON();
    }
    if (!isContainer(current)) return current;
    if (depth > maxDepth) return tooDeepMarker(maxDepth);
    if (Array.isArray(current)) return current.map((item) => cut(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(current)) {
      Object.defineProperty(out, key, {
        value: cut(child, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return cut(value, 1) as T;
}

/**
 * Rejects client JSON that could not be stored, before anything is written: nesting deeper than
 * `maxDepth` (`nesting_too_deep`), NUL or unpaired surrogates in any string or key (`invalid_character`).
 * `root` names the value in the message (`input`, `body.workflow`).
 */
export function assertStorableClientJson(
  value: unknown,
  root: string,
  maxDepth: number = DEFINITION_LIMITS.maxJsonDepth,
): void {
  const problem = findJsonTextProblem(value, { maxDepth, root });
  if (problem === null) return;
  const details = { path: problem.path };
  if (problem.kind === 'depth') {
    throw new FlowtraceError(
      'nesting_too_deep',
      `${describeJsonTextProblem(problem)}; send JSON nested at most ${maxDepth} levels deep`,
      { details: { ...details, maxDepth } },
    );
  }
  throw new FlowtraceError(
    'invalid_character',
    `${describeJsonTextProblem(problem)}; remove it (strings must be valid Unicode without U+0000)`,
    { details },
  );
}

function assertNever(value: never): never {
  throw new Error(`unexpected problem ${JSON.stringify(value)}`);
}
