import { assertStorableClientJson, DEFINITION_LIMITS } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';

/**
 * Rejects, for every route, request data that could not be stored or would overflow the stack of
 * recursive code: JSON nested deeper than the limit (`nesting_too_deep`) and strings or keys with U+0000
 * or unpaired surrogates (`invalid_character`), in the body, the query string and the path parameters.
 * It runs after parsing (JSON.parse is iterative in V8, so parsing any depth is safe) and before schema
 * validation and handlers, so nothing downstream sees such a value and nothing is written.
 */
export function registerRequestGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    // The body wraps the definition or input one level down (`{ input: {...} }`): allow that level.
    if (request.body !== undefined) {
      assertStorableClientJson(request.body, 'body', DEFINITION_LIMITS.maxJsonDepth + 1);
    }
    if (request.query !== undefined) assertStorableClientJson(request.query, 'query');
    if (request.params !== undefined) assertStorableClientJson(request.params, 'params');
  });
}
