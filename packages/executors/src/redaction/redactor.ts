import type { JsonValue } from '@flowtrace/workflow';

/** What every redacted secret becomes. */
export const REDACTED = '[REDACTED]';

/**
 * Always applied, whether or not patterns are configured: common credential shapes (OpenAI/Anthropic
 * style `sk-` keys, bearer tokens, AWS access key ids). Short ones need a digit, so that ordinary words
 * ("Bearer authentication", "sk-learn-classifiers") are left alone in outputs.
 */
export const DEFAULT_REDACT_PATTERNS: readonly RegExp[] = [
  /\bsk-(?:(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}|[A-Za-z0-9_-]{32,})/g,
  /\bBearer\s+(?:(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{8,}|[A-Za-z0-9._~+/-]{20,})=*/gi,
  /\bAKIA[0-9A-Z]{16}\b/g,
];

/**
 * Keys whose values are secrets whatever they hold: a target that echoes its request headers in a JSON
 * body (`{"headers": {"Authorization": ...}}`) hands them back under these names. Credential header
 * names from the configuration are added to them.
 */
export const SECRET_HEADER_NAMES: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
];

/** Literal secrets shorter than this are not redacted: they would shred ordinary text. */
export const MIN_SECRET_LENGTH = 4;

export interface RedactorOptions {
  /** Literal secret values (credential header values, provider API keys). */
  secrets?: readonly string[] | undefined;
  /** Patterns whose matches are secrets: RegExps, or strings holding a RegExp source. */
  patterns?: ReadonlyArray<string | RegExp> | undefined;
  /** Header names (case-insensitive) whose values are secrets wherever they appear as JSON keys. */
  headerNames?: readonly string[] | undefined;
}

/**
 * Replaces secrets by `[REDACTED]`. Call it on text; `json` applies it to every string and key of a
 * JSON value (and replaces whole values under secret header names); `error` applies it, in place, to an
 * error's message, stack and details, and returns the same error (its class and identity matter to the
 * engine's retry logic).
 */
export interface Redactor {
  (text: string): string;
  json(value: JsonValue): JsonValue;
  error<E>(error: E): E;
}

/**
 * The one redaction routine of the executors: node outputs, node errors, agent steps, tool observations,
 * error excerpts and captured span content all go through a redactor built here.
 *
 * Literal secrets are matched in one pass of one alternation (longest first), together with their
 * percent-encoded and JSON-escaped spellings, then each pattern is applied. A secret can therefore only
 * survive where it overlaps a `[REDACTED]` marker, which needs a secret containing `[` or `]` or lying
 * inside the marker's own letters.
 */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const literals = [...new Set((options.secrets ?? []).flatMap(secretSpellings))]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length);
  const literal = literals.length === 0 ? null : new RegExp(literals.map(escapeRegExp).join('|'), 'g');
  const patterns = [...(options.patterns ?? []).map(compileRedactPattern), ...DEFAULT_REDACT_PATTERNS];
  const secretKeys = new Set(
    [...SECRET_HEADER_NAMES, ...(options.headerNames ?? [])].map((h) => h.toLowerCase()),
  );

  const text = (input: string): string => {
    let out = literal === null ? input : input.replace(literal, REDACTED);
    for (const pattern of patterns) {
      pattern.lastIndex = 0;
      out = out.replace(pattern, REDACTED);
    }
    return out;
  };

  // Iterative: targets and providers can send JSON nested far deeper than the call stack allows. The
  // copy keeps the value's shape at any depth; what may be stored is the engine's decision (it refuses
  // outputs nested past STORED_JSON_MAX_DEPTH and replaces deeper parts of other values by a marker).
  const json = (value: JsonValue): JsonValue => {
    const root: JsonValue[] = [null];
    const pending: PendingCopy[] = [{ from: value, into: root, key: 0, copied: false }];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const { from, into, key } = next;
      let copy: JsonValue = from;
      if (next.copied) {
        // A value under a secret header name, already replaced.
      } else if (typeof from === 'string') {
        copy = text(from);
      } else if (Array.isArray(from)) {
        const items: JsonValue[] = from.map(() => null);
        for (let i = from.length - 1; i >= 0; i--) {
          pending.push({ from: from[i] as JsonValue, into: items, key: i, copied: false });
        }
        copy = items;
      } else if (from !== null && typeof from === 'object') {
        // Keys are set now, in their order; values are filled in that order too (pushed in reverse), so
        // that of two keys redacted to the same name the later one wins, as with plain assignment.
        const out: Record<string, JsonValue> = {};
        const children: PendingCopy[] = [];
        for (const [name, item] of Object.entries(from)) {
          const redactedName = text(name);
          setOwn(out, redactedName, null);
          const secret = secretKeys.has(name.toLowerCase()) && item !== null;
          children.push({ from: secret ? REDACTED : item, into: out, key: redactedName, copied: secret });
        }
        for (let i = children.length - 1; i >= 0; i--) pending.push(children[i] as PendingCopy);
        copy = out;
      }
      if (Array.isArray(into)) into[key as number] = copy;
      else setOwn(into, key as string, copy);
    }
    return root[0] as JsonValue;
  };

  const error = <E>(value: E): E => {
    if (!(value instanceof Error)) return value;
    try {
      const message = text(value.message);
      if (message !== value.message) value.message = message;
      if (value.stack !== undefined) value.stack = text(value.stack);
      const details = (value as { details?: unknown }).details;
      if (details !== null && typeof details === 'object') {
        (value as { details?: unknown }).details = json(details as JsonValue);
      }
    } catch {
      // A frozen error keeps what it has; callers that store it redact its message again.
    }
    return value;
  };

  return Object.assign(text, { json, error });
}

/** Compiles a configured pattern (global); throws naming an invalid one. */
export function compileRedactPattern(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) {
    return pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
  }
  try {
    return new RegExp(pattern, 'g');
  } catch (error) {
    throw new Error(`invalid redact pattern /${pattern}/: ${(error as Error).message}`);
  }
}

/** `createRedactor({ secrets })(text)`: the given secrets and the default credential shapes. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return createRedactor({ secrets })(text);
}

/** A secret as it may come back: itself, percent-encoded (a URL, a form) or JSON-escaped. */
function secretSpellings(secret: string): string[] {
  const spellings = [secret];
  try {
    spellings.push(encodeURIComponent(secret));
  } catch {
    // A lone surrogate cannot be percent-encoded; it cannot come back that way either.
  }
  spellings.push(JSON.stringify(secret).slice(1, -1));
  return spellings;
}

/** One value of `json`'s copy: where its copy goes, and whether it is already final. */
interface PendingCopy {
  from: JsonValue;
  into: JsonValue[] | Record<string, JsonValue>;
  key: number | string;
  copied: boolean;
}

/** Sets an own property, so that a `__proto__` key stays a key instead of replacing the prototype. */
function setOwn(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
