import { isFlowtraceError } from '@flowtrace/workflow';
import type { StoredError } from '../store/types.ts';

/** The JSON stored on a failed node or run: our error code and message, never a stack. */
export function toStoredError(error: unknown, nodeId: string): StoredError {
  if (isFlowtraceError(error)) {
    return {
      code: error.code,
      message: error.message,
      nodeId,
      ...(error.details ? { details: error.details } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'node_failed', message, nodeId };
}
