import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ERROR_CODES, type ErrorCode } from '@flowtrace/workflow';
import type { FastifyBaseLogger } from 'fastify';

/** Node's HTTP parser errors (`HPE_*`) that mean "a header is malformed", for a message that says so. */
const HEADER_SYNTAX = new Set([
  'HPE_INVALID_HEADER_TOKEN',
  'HPE_INVALID_HEADER_VALUE',
  'HPE_LF_EXPECTED',
  'HPE_CR_EXPECTED',
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
]);

/** The catalogue code and message for an error Node raised before the request reached Fastify. */
export function describeClientError(
  error: NodeJS.ErrnoException,
  maxHeaderSize: number,
): { code: ErrorCode; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        code: 'headers_too_large',
        message: `request headers are larger than ${maxHeaderSize} bytes in all; send fewer or shorter headers`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'request_timeout', message: 'the request was not received in time; send it again' };
    default:
      if (error.code !== undefined && HEADER_SYNTAX.has(error.code)) {
        return {
          code: 'invalid_request',
          message: `malformed request header (${error.code}): header names must be tokens and values may not contain control characters`,
        };
      }
      return {
        code: 'invalid_request',
        message: `malformed HTTP request${error.code ? ` (${error.code})` : ''}`,
      };
  }
}

/**
 * Fastify's `clientErrorHandler`: answers errors that Node's HTTP parser raises (oversized or malformed
 * headers, request timeouts) in the API's error format, `{ "error": { "code", "message" } }`, instead of
 * Node's or Fastify's own, then closes the connection (its framing can no longer be trusted).
 */
export function clientErrorHandler(options: { maxHeaderSize: number; logger: FastifyBaseLogger }) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { code, message } = describeClientError(error, options.maxHeaderSize);
    const status = ERROR_CODES[code];
    options.logger.debug({ err: error, code }, 'rejected a malformed HTTP request');
    if (socket.writable) {
      const body = JSON.stringify({ error: { code, message } });
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy(error);
  };
}
