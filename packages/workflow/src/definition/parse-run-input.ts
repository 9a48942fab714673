import { FlowtraceError } from '../errors/flowtrace-error.ts';
import type { JsonValue } from '../executor/node-executor.ts';
import { DEFINITION_LIMITS, jsonByteLength } from './limits.ts';
import { assertStorableClientJson } from './storable-json.ts';

/**
 * A run's input must be a JSON object (templates read it as `input.<field>`) within the size and nesting
 * limits, with strings Postgres can store (no U+0000, no unpaired surrogates).
 */
export function parseRunInput(raw: unknown): Record<string, JsonValue> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FlowtraceError('invalid_input', `run input must be a JSON object, got ${describe(raw)}`);
  }
  // Before the size check: measuring serializes the value, which overflows the stack when it nests deeply.
  assertStorableClientJson(raw, 'input');
  if (jsonByteLength(raw) > DEFINITION_LIMITS.maxInputBytes) {
    throw new FlowtraceError(
      'input_too_large',
      `run input is larger than ${DEFINITION_LIMITS.maxInputBytes} bytes`,
    );
  }
  return raw as Record<string, JsonValue>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
