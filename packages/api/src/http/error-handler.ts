import { isTransientDatabaseError } from '@flowtrace/db';
import { ERROR_CODES, type ErrorCode, isFlowtraceError } from '@flowtrace/workflow';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  extra: { nodeId?: string; details?: Record<string, unknown> } = {},
): FastifyReply {
  return reply.code(ERROR_CODES[code]).send({ error: { code, message, ...extra } });
}

function describeValidation(error: FastifyError): string {
  const issues = (error.validation ?? []).slice(0, 5).map((issue) => {
    const where = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const context = error.validationContext ?? 'request';
    return `${context}${where ? `.${where}` : ''}: ${issue.message}`;
  });
  return issues.length > 0 ? issues.join('; ') : error.message;
}

/**
 * Fastify's `frameworkErrors`: errors its router raises before any hook or handler runs (a URL whose
 * percent-encoding is not UTF-8, a path parameter past `maxParamLength`), in the API's error format.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      sendError(
        reply,
        'uri_too_long',
        'a path segment of the URL is longer than 100 characters; ids are UUIDs',
      );
      return;
    case 'FST_ERR_BAD_URL':
      sendError(
        reply,
        'invalid_request',
        'the URL is not valid: a % must start a percent-encoded UTF-8 byte (two hex digits, as in %C3%A9)',
      );
      return;
    default:
      sendError(reply, codeForClientStatus(error.statusCode ?? 400), error.message);
  }
}

/** The catalogue code for a client-error status from Fastify or Node; `invalid_request` (400) for the rest. */
export function codeForClientStatus(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'not_found';
    case 408:
      return 'request_timeout';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 431:
      return 'headers_too_large';
    default:
      return 'invalid_request';
  }
}

/**
 * One error format for every failure: `{ error: { code, message, nodeId?, details? } }`. Client mistakes
 * get a 4xx with a code from the catalogue and a message saying what to fix; only our own faults are 5xx.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isFlowtraceError(error)) {
      if (error.statusCode >= 500) request.log.error({ err: error }, 'request failed');
      // Quotas and budgets say when to come back (rate_limited, concurrency_limited, budget_exceeded).
      const retryAfter = error.details?.retryAfterSeconds;
      if (typeof retryAfter === 'number' && retryAfter > 0)
        reply.header('retry-after', String(Math.ceil(retryAfter)));
      return reply.code(error.statusCode).send({ error: error.toJSON() });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      return sendError(reply, 'invalid_request', describeValidation(error));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(
          reply,
          'payload_too_large',
          `request body is larger than ${request.routeOptions.bodyLimit ?? 'the limit'} bytes`,
        );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 'unsupported_media_type', 'send the body as application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 'invalid_request', 'request body is empty; send a JSON object');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(reply, 'invalid_request', `request body is not valid JSON: ${error.message}`);
      default:
        break;
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's other client errors (bad URL, bad content length, …): a catalogue code and its status.
      return sendError(reply, codeForClientStatus(error.statusCode), error.message);
    }
    if (isTransientDatabaseError(error)) {
      // Postgres restarting or unreachable, a lost connection, a deadlock: a retry can succeed. A write may
      // have committed before its answer was lost, so a retried submission should carry its Idempotency-Key.
      request.log.warn({ err: error }, 'request failed on a transient database error');
      reply.header('retry-after', '1');
      return sendError(
        reply,
        'dependency_unavailable',
        'the database is unavailable or restarting; retry shortly (with the same Idempotency-Key for a submission)',
      );
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 'internal_error', 'internal error; the request was not applied');
  });
}
