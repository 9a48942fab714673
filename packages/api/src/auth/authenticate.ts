import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../http/error-handler.ts';
import type { ApiKeyStore, ApiPrincipal } from './api-key-store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null;
  }
}

/** `onRequest` hook for /v1 routes: resolves the bearer key to a tenant, or answers 401. */
export function bearerAuth(keys: ApiKeyStore) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) {
      await sendError(reply, 'unauthorized', 'missing API key: send "Authorization: Bearer <key>"');
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      await sendError(reply, 'unauthorized', 'malformed Authorization header: expected "Bearer <key>"');
      return;
    }
    const principal = await keys.authenticate(match[1]);
    if (!principal) {
      await sendError(reply, 'unauthorized', 'API key is not valid or has been revoked');
      return;
    }
    request.principal = principal;
  };
}

/** The authenticated principal of a /v1 request. */
export function principalOf(request: FastifyRequest): ApiPrincipal {
  if (!request.principal) throw new Error('route is missing bearer authentication');
  return request.principal;
}
