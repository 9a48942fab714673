import { FlowtraceAttributes, FlowtraceEvents } from '@flowtrace/telemetry';
import { PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { redactUrl } from './connector-url.ts';
import { describeRefusal, SsrfBlockedError, type SsrfRefusal } from './ssrf-policy.ts';

/** Where a failed request was going, and whether its own timeout or the caller's signal ended it. */
export interface FailedRequest {
  method: string;
  url: URL;
  timeoutMs: number;
  timedOut: boolean;
  signal: AbortSignal | undefined;
}

/**
 * What a failed request throws: `connector_blocked` for an SSRF refusal found anywhere in the error's
 * causes (recorded on the active span too), node errors as they are, a transient `connector_error` for
 * the request's timeout, the caller's abort reason, a permanent `connector_error` for an invalid request
 * and a transient one for network errors.
 */
export function translateRequestError(error: unknown, where: FailedRequest): unknown {
  const refusal = findRefusal(error);
  if (refusal !== null) {
    recordRefusal(refusal);
    return new PermanentNodeError('connector_blocked', describeRefusal(refusal), {
      details: {
        host: refusal.hostname,
        ...(refusal.address === null ? {} : { address: refusal.address }),
        rule: refusal.rule,
        ...(refusal.cidr === null ? {} : { cidr: refusal.cidr }),
      },
    });
  }
  if (error instanceof PermanentNodeError || error instanceof TransientNodeError) return error;
  const target = `${where.method} ${redactUrl(where.url)}`;
  if (where.timedOut) {
    return new TransientNodeError(
      'connector_error',
      `${target}: no complete response within ${where.timeoutMs} ms`,
      {
        details: { timeoutMs: where.timeoutMs },
      },
    );
  }
  if (where.signal?.aborted) return where.signal.reason ?? error;
  const code = errorCode(error);
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL' || code === 'ERR_INVALID_ARG_TYPE') {
    return new PermanentNodeError(
      'connector_error',
      `${target}: invalid request (${(error as Error).message})`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TransientNodeError('connector_error', `${target}: request failed (${code ?? message})`, {
    cause: error,
    details: code === undefined ? {} : { errorCode: code },
  });
}

/** Records a refusal on the active span (the node's span, or the agent's tool span). */
function recordRefusal(refusal: SsrfRefusal): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  const reason = describeRefusal(refusal);
  const attributes = {
    [FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]: reason,
    [FlowtraceAttributes.CONNECTOR_BLOCKED_RULE]: refusal.rule,
    [FlowtraceAttributes.CONNECTOR_BLOCKED_HOST]: refusal.hostname,
    ...(refusal.address === null ? {} : { [FlowtraceAttributes.CONNECTOR_BLOCKED_ADDRESS]: refusal.address }),
  };
  span.addEvent(FlowtraceEvents.CONNECTOR_BLOCKED, attributes);
  span.setAttributes(attributes);
}

function findRefusal(error: unknown): SsrfRefusal | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof SsrfBlockedError) return current.refusal;
    // autoSelectFamily reports per-address failures as an AggregateError.
    if (current instanceof AggregateError) queue.push(...current.errors);
    if ('cause' in current) queue.push((current as { cause: unknown }).cause);
  }
  return null;
}

function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}
