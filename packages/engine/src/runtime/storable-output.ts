import {
  describeJsonTextProblem,
  findJsonTextProblem,
  type JsonValue,
  jsonByteLength,
  PermanentNodeError,
  STORED_JSON_MAX_DEPTH,
} from '@flowtrace/workflow';

/**
 * Fails a node for good (`output_not_storable`, not retried) when its output could never be stored: nested
 * past the storable depth, or larger than `maxOutputBytes`. Retrying would repeat the node's external calls
 * only to fail the same way. (NUL and unpaired surrogates are repaired when the outcome is written.)
 */
export function assertStorableOutput(output: JsonValue, nodeId: string, maxOutputBytes: number): void {
  // Depth first: measuring the size serializes the value, which overflows the stack when it nests deeply.
  const tooDeep = findJsonTextProblem(output, {
    maxDepth: STORED_JSON_MAX_DEPTH,
    root: 'output',
    depthOnly: true,
  });
  if (tooDeep) {
    throw new PermanentNodeError(
      'output_not_storable',
      `node "${nodeId}" produced output that cannot be stored: ${describeJsonTextProblem(tooDeep)}`,
      { nodeId },
    );
  }
  const size = jsonByteLength(output);
  if (size > maxOutputBytes) {
    throw new PermanentNodeError(
      'output_not_storable',
      `node "${nodeId}" produced ${size} bytes of output; the limit is ${maxOutputBytes} (NODE_MAX_OUTPUT_BYTES)`,
      { nodeId },
    );
  }
}

/**
 * An executor that overflowed the stack was handling a value nested too deeply (a target's JSON, a
 * provider's reply); the same value overflows again on every retry, so the node fails for good instead.
 */
export function permanentIfTooDeep(error: unknown, nodeId: string): unknown {
  if (!(error instanceof RangeError) || !/maximum call stack/i.test(error.message)) return error;
  return new PermanentNodeError(
    'output_not_storable',
    `node "${nodeId}" handled a value nested too deeply to process (${error.message}); it is not retried`,
    { nodeId, cause: error },
  );
}
