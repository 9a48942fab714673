import { type JsonValue, limitJsonDepth } from '@flowtrace/workflow';
import type { Redactor } from '../llm/content-capture.ts';

/** Default size limit of a stored thought, tool input or observation (`agent_trace_history`), in characters. */
export const DEFAULT_MAX_STORED_CHARS = 16_384;
/** Default size limit of a tool result fed back to the model, in characters. */
export const DEFAULT_MAX_TOOL_RESULT_CHARS = 32_768;

export interface StoredContentOptions {
  redact: Redactor;
  maxChars: number;
}

/**
 * Text as stored in a step row: redacted, without NUL characters (Postgres text and jsonb refuse
 * them), and cut at the limit with a marker saying how much was left out.
 */
export function storedText(text: string | null, options: StoredContentOptions): string | null {
  if (text === null) return null;
  return cut(stripNul(options.redact(text)), options.maxChars);
}

/**
 * A JSON value as stored in a step row: every string (and key) redacted and NUL-free, containers nested
 * past the storable depth replaced by a marker (as the stores would); when its JSON is longer than the
 * limit, the cut JSON text instead (a string), so that a huge HTTP body never bloats the table.
 */
export function storedJson(value: JsonValue, options: StoredContentOptions): JsonValue {
  const clean = cleanJson(limitJsonDepth(value), options.redact);
  const text = JSON.stringify(clean) ?? 'null';
  return text.length <= options.maxChars ? clean : cut(text, options.maxChars);
}

/**
 * The tool message content the model gets: strings as they are, other values as JSON (containers nested
 * past the storable depth replaced by a marker), cut at the limit.
 */
export function toolResultContent(observation: JsonValue, maxChars: number): string {
  const text =
    typeof observation === 'string' ? observation : (JSON.stringify(limitJsonDepth(observation)) ?? 'null');
  return cut(text, maxChars);
}

/** Recursive: only called on values whose depth `limitJsonDepth` has bounded. */
function cleanJson(value: JsonValue, redact: Redactor): JsonValue {
  if (typeof value === 'string') return stripNul(redact(value));
  if (Array.isArray(value)) return value.map((item) => cleanJson(item, redact));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [stripNul(redact(key)), cleanJson(item, redact)]),
    );
  }
  return value;
}

function stripNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}

function cut(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}…[truncated ${text.length - maxChars} characters]`;
}
