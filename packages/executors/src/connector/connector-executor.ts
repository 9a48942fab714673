import { FlowtraceAttributes } from '@flowtrace/telemetry';
import type { Logger, NodeExecutionContext, NodeExecutor } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { redactUrl } from './connector-url.ts';
import type { CredentialStore } from './credentials.ts';
import type { GuardedHttpClient } from './guarded-http-client.ts';
import { httpStatusError, performHttpCall } from './http-call.ts';
import { templateScope } from './template-scope.ts';

export interface ConnectorExecutorDeps {
  /** Shared guarded client (SSRF policy, default timeout and size limit live there). */
  http: GuardedHttpClient;
  credentials: CredentialStore;
  /** Used when the context's logger is not wanted; defaults to `ctx.logger`. */
  logger?: Logger;
}

/**
 * The `connector` node: one outbound HTTP request built from templates over the run input and the
 * upstream outputs, sent through the SSRF-guarded client with a configured credential. Returns
 * `{ status, headers, body }`; 408/429/5xx fail transiently (honouring `Retry-After`), other 4xx
 * permanently. The CLIENT span and the `traceparent` header come from the undici instrumentation.
 */
export function createConnectorExecutor(deps: ConnectorExecutorDeps): NodeExecutor<'connector'> {
  return {
    type: 'connector',
    async execute(ctx: NodeExecutionContext<'connector'>) {
      const logger = deps.logger ?? ctx.logger;
      const { config } = ctx;
      const { result, request, response } = await performHttpCall(
        deps,
        {
          method: config.method,
          url: config.url,
          headers: config.headers,
          query: config.query,
          body: config.body,
          credential: config.credential,
          timeoutMs: config.timeoutMs,
          maxResponseBytes: config.maxResponseBytes,
          responseType: config.responseType,
        },
        templateScope(ctx),
        { signal: ctx.signal, nodeId: ctx.nodeId, tenantId: ctx.tenantId },
      );
      trace.getActiveSpan()?.setAttributes({
        [FlowtraceAttributes.CONNECTOR_REDIRECTS]: response.redirects,
        [FlowtraceAttributes.CONNECTOR_RESPONSE_BYTES]: response.body?.length ?? 0,
      });
      logger.debug(
        {
          method: request.method,
          url: redactUrl(request.url),
          status: result.status,
          redirects: response.redirects,
        },
        'connector request completed',
      );
      const error = httpStatusError(result, request, {
        secrets: deps.credentials.secretValues(),
        nodeId: ctx.nodeId,
      });
      if (error !== null) throw error;
      return result;
    },
  };
}
