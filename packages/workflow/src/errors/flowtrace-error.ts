import { ERROR_CODES, type ErrorCode } from './error-codes.ts';

export interface FlowtraceErrorOptions {
  /** The node a definition or execution error is about, when there is one. */
  nodeId?: string | undefined;
  /** Extra machine-readable detail returned to the client (never secrets). */
  details?: Record<string, unknown> | undefined;
  cause?: unknown;
}

/** Base error: a stable `code`, the HTTP status that code maps to, and a message that says what to fix. */
export class FlowtraceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly nodeId: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: FlowtraceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FlowtraceError';
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.nodeId = options.nodeId;
    this.details = options.details;
  }

  /** The JSON body the API returns and the shape stored on failed nodes and runs. */
  toJSON(): { code: ErrorCode; message: string; nodeId?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.nodeId === undefined ? {} : { nodeId: this.nodeId }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isFlowtraceError(value: unknown): value is FlowtraceError {
  return value instanceof FlowtraceError;
}
