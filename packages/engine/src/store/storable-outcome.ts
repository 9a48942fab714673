import { type JsonValue, STORED_JSON_MAX_DEPTH, toStorableJson } from '@flowtrace/workflow';
import type { EventRow } from './ledger-rows.ts';
import type { LedgerEntries, StoredError } from './types.ts';

/** What an attempt writes, made storable, with a note of what had to be replaced. */
export interface StorableOutcome {
  output: JsonValue | null;
  error: StoredError | null;
  ledger: LedgerEntries;
  /** Set when anything was replaced: how many values, and the first paths. */
  sanitized: { replacements: number; paths: string[] } | null;
}

const MAX_REPORTED_PATHS = 10;

/**
 * Makes an attempt's outcome storable before it is written. Outputs, error messages, agent steps and
 * model-call rows come from targets and providers, and Postgres rejects U+0000 (in `text` and `jsonb`)
 * and unpaired surrogates (in `jsonb`): a write that fails on them would fail on every re-delivery and
 * re-execute the node each time. They are replaced by U+FFFD (containers nested past the storable depth
 * by a placeholder string), and the replacements are reported in a `node.output_sanitized` event.
 */
export function toStorableOutcome(parts: {
  output: JsonValue | null;
  error: StoredError | null;
  ledger: LedgerEntries;
}): StorableOutcome {
  const options = { maxDepth: STORED_JSON_MAX_DEPTH, maxReported: MAX_REPORTED_PATHS };
  const output = toStorableJson(parts.output, { ...options, root: 'output' });
  const error = toStorableJson(parts.error, { ...options, root: 'error' });
  const ledger = toStorableJson(parts.ledger, { ...options, root: 'ledger' });
  const replacements = output.replaced.count + error.replaced.count + ledger.replaced.count;
  return {
    output: output.value,
    error: error.value,
    ledger: ledger.value,
    sanitized:
      replacements === 0
        ? null
        : {
            replacements,
            paths: [...output.replaced.paths, ...error.replaced.paths, ...ledger.replaced.paths].slice(
              0,
              MAX_REPORTED_PATHS,
            ),
          },
  };
}

/** The `node.output_sanitized` event of an attempt whose outcome needed repair, if it did. */
export function sanitizedEvent(
  ref: Omit<EventRow, 'type' | 'message' | 'data'>,
  sanitized: StorableOutcome['sanitized'],
): EventRow[] {
  if (sanitized === null) return [];
  return [
    {
      ...ref,
      type: 'node.output_sanitized',
      message:
        `replaced ${sanitized.replacements} value(s) that Postgres cannot store (U+0000, unpaired ` +
        `surrogates, nesting deeper than ${STORED_JSON_MAX_DEPTH} levels): ${sanitized.paths.join(', ')}`,
      data: sanitized,
    },
  ];
}
