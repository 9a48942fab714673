import { describe, expect, it } from 'vitest';
import { describeClientError } from './client-error.ts';

const parserError = (code?: string) =>
  Object.assign(new Error('parse error'), code === undefined ? {} : { code });

describe('describeClientError', () => {
  it("names the header limit on Node's header overflow", () => {
    expect(describeClientError(parserError('HPE_HEADER_OVERFLOW'), 16_384)).toEqual({
      code: 'headers_too_large',
      message: 'request headers are larger than 16384 bytes in all; send fewer or shorter headers',
    });
  });

  it('answers a request timeout with request_timeout', () => {
    expect(describeClientError(parserError('ERR_HTTP_REQUEST_TIMEOUT'), 1)).toMatchObject({
      code: 'request_timeout',
    });
  });

  it('says what is wrong with a malformed header', () => {
    for (const code of ['HPE_INVALID_HEADER_TOKEN', 'HPE_INVALID_HEADER_VALUE', 'HPE_INVALID_CONTENT_LENGTH'])
      expect(describeClientError(parserError(code), 1)).toEqual({
        code: 'invalid_request',
        message: `malformed request header (${code}): header names must be tokens and values may not contain control characters`,
      });
  });

  it('answers any other parser error with invalid_request and its code, if any', () => {
    expect(describeClientError(parserError('HPE_INVALID_METHOD'), 1)).toEqual({
      code: 'invalid_request',
      message: 'malformed HTTP request (HPE_INVALID_METHOD)',
    });
    expect(describeClientError(parserError(), 1)).toEqual({
      code: 'invalid_request',
      message: 'malformed HTTP request',
    });
  });
});
