import { FlowtraceError } from '@flowtrace/workflow';
import { nestedJsonText } from '@flowtrace/workflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codeForClientStatus, frameworkErrorHandler, registerErrorHandling } from './error-handler.ts';
import { registerRequestGuard } from './request-guard.ts';

/** The error body every failure must have: a catalogue code and a message, nothing else required. */
function errorOf(response: { statusCode: number; json: () => unknown }) {
  const body = response.json() as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toMatch(/^[a-z_]+$/);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

describe('the API error format', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify({ bodyLimit: 1_024, frameworkErrors: frameworkErrorHandler });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    registerErrorHandling(app);
    registerRequestGuard(app);
    const typed = app.withTypeProvider<ZodTypeProvider>();
    typed.post(
      '/things',
      { schema: { body: z.strictObject({ name: z.string().min(1), size: z.number().int() }) } },
      async (request) => ({ ok: request.body.name }),
    );
    typed.get('/things/:id', { schema: { params: z.object({ id: z.uuid() }) } }, async () => ({ ok: true }));
    app.get('/limited', async () => {
      throw new FlowtraceError('rate_limited', 'too many runs; retry in 1.2 s', {
        details: { retryAfterSeconds: 1.2 },
      });
    });
    app.get('/workflow-error', async () => {
      throw new FlowtraceError('unknown_dependency', 'node "b" depends on "x"', {
        nodeId: 'b',
        details: { dependency: 'x' },
      });
    });
    app.get('/boom', async () => {
      throw new Error('connect ECONNREFUSED postgres://admin:hunter2@db');
    });
    app.get('/database-restarting', async () => {
      // What postgres.js throws while Postgres restarts (admin_shutdown), with the query that failed.
      throw Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
        severity: 'FATAL',
        query: 'select * from api_keys where secret = $1',
      });
    });
    app.get('/client-status/:status', async (request) => {
      const status = Number((request.params as { status: string }).status);
      throw Object.assign(new Error(`client error ${status}`), { statusCode: status });
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers catalogue errors with their status, code, node and details', async () => {
    const response = await app.inject({ method: 'GET', url: '/workflow-error' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: 'unknown_dependency',
        message: 'node "b" depends on "x"',
        nodeId: 'b',
        details: { dependency: 'x' },
      },
    });
  });

  it('says when to come back after a quota refusal, in whole seconds', async () => {
    const response = await app.inject({ method: 'GET', url: '/limited' });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('2');
    expect(errorOf(response).code).toBe('rate_limited');
  });

  it('answers an unexpected failure with a 500 that leaks nothing of it', async () => {
    const response = await app.inject({ method: 'GET', url: '/boom' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: { code: 'internal_error', message: 'internal error; the request was not applied' },
    });
    expect(response.body).not.toMatch(/hunter2|ECONNREFUSED|at /);
  });

  it('answers a transient database failure with a 503 to retry, leaking nothing of it', async () => {
    const response = await app.inject({ method: 'GET', url: '/database-restarting' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    const error = errorOf(response);
    expect(error.code).toBe('dependency_unavailable');
    expect(error.message).toMatch(/database is unavailable or restarting; retry/);
    expect(response.body).not.toMatch(/api_keys|administrator|57P01/);
  });

  it('answers schema violations with invalid_request naming the field', async () => {
    const response = await app.inject({ method: 'POST', url: '/things', payload: { name: '', size: 1.5 } });
    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/body\.name: /);
    expect(error.message).toMatch(/body\.size: /);
    const params = await app.inject({ method: 'GET', url: '/things/not-a-uuid' });
    expect(params.statusCode).toBe(400);
    expect(errorOf(params)).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^params\.id: /),
    });
  });

  it('answers body problems with a code and a message that says what to send', async () => {
    const cases = [
      {
        payload: '{"name": ',
        type: 'application/json',
        status: 400,
        code: 'invalid_request',
        message: /^request body is not valid JSON: /,
      },
      {
        payload: '',
        type: 'application/json',
        status: 400,
        code: 'invalid_request',
        message: /^request body is empty; send a JSON object$/,
      },
      {
        payload: '<name>x</name>',
        type: 'application/xml',
        status: 415,
        code: 'unsupported_media_type',
        message: /^send the body as application\/json$/,
      },
      {
        payload: JSON.stringify({ name: 'x'.repeat(2_000), size: 1 }),
        type: 'application/json',
        status: 413,
        code: 'payload_too_large',
        message: /^request body is larger than 1024 bytes$/,
      },
    ];
    for (const c of cases) {
      const response = await app.inject({
        method: 'POST',
        url: '/things',
        payload: c.payload,
        headers: { 'content-type': c.type },
      });
      expect(response.statusCode, c.code).toBe(c.status);
      const error = errorOf(response);
      expect(error.code).toBe(c.code);
      expect(error.message).toMatch(c.message);
    }
  });

  it('refuses JSON nested too deeply and unstorable characters before validation', async () => {
    const deep = await app.inject({
      method: 'POST',
      url: '/things',
      payload: `{"name": ${nestedJsonText(100)}, "size": 1}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.statusCode).toBe(400);
    expect(errorOf(deep).code).toBe('nesting_too_deep');
    const nul = await app.inject({ method: 'POST', url: '/things', payload: { name: 'a\u0000b', size: 1 } });
    expect(nul.statusCode).toBe(400);
    expect(errorOf(nul)).toMatchObject({
      code: 'invalid_character',
      message: expect.stringContaining('body.name'),
    });
    const query = await app.inject({ method: 'GET', url: '/workflow-error?q=%00' });
    expect(errorOf(query)).toMatchObject({
      code: 'invalid_character',
      message: expect.stringContaining('query.q'),
    });
  });

  it('answers unknown routes with not_found, without echoing the query string', async () => {
    const response = await app.inject({ method: 'DELETE', url: '/nowhere?token=abc' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'not_found', message: 'no route DELETE /nowhere' } });
  });

  it("answers the router's own errors in the same format", async () => {
    const long = await app.inject({ method: 'GET', url: `/things/${'a'.repeat(200)}` });
    expect(long.statusCode).toBe(414);
    expect(errorOf(long).code).toBe('uri_too_long');
    const badUrl = await app.inject({ method: 'GET', url: '/things/%E0%A4%A' });
    expect(badUrl.statusCode).toBe(400);
    expect(errorOf(badUrl)).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/percent-encoded/),
    });
  });

  it("maps other client statuses to the catalogue's codes and their statuses", async () => {
    for (const [status, code, answered] of [
      [408, 'request_timeout', 408],
      [413, 'payload_too_large', 413],
      [431, 'headers_too_large', 431],
      [418, 'invalid_request', 400],
    ] as const) {
      const response = await app.inject({ method: 'GET', url: `/client-status/${status}` });
      expect(response.statusCode, String(status)).toBe(answered);
      expect(errorOf(response).code).toBe(code);
    }
    const server = await app.inject({ method: 'GET', url: '/client-status/503' });
    expect(server.statusCode).toBe(500);
    expect(errorOf(server).code).toBe('internal_error');
  });
});

describe('codeForClientStatus', () => {
  it('has a catalogue code for each client status Fastify and Node raise', () => {
    expect([404, 408, 413, 415, 431, 400, 405, 499].map(codeForClientStatus)).toEqual([
      'not_found',
      'request_timeout',
      'payload_too_large',
      'unsupported_media_type',
      'headers_too_large',
      'invalid_request',
      'invalid_request',
      'invalid_request',
    ]);
  });
});
