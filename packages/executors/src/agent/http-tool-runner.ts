import type { HttpTool } from '@flowtrace/workflow';
import { type HttpCallDeps, httpStatusError, performHttpCall } from '../connector/http-call.ts';
import { createRedactor, type Redactor } from '../redaction/redactor.ts';
import type { AgentToolRunner } from './tool-runner.ts';

/**
 * The `http` tool: the connector's request code (templates, SSRF-guarded client, named credential)
 * with the model's arguments under `args`. Returns `{ status, body }`; an error status (4xx/5xx) is a
 * tool error whose message names the status and a body excerpt. Credential values are removed from
 * the observation, so a server that echoes request headers cannot hand them to the model.
 *
 * Argument values are percent-encoded where the URL template inserts them, and the template fixes
 * scheme, host and port (`renderUrlTemplate`): a model (or a prompt injected through an earlier tool
 * result) cannot change the destination, add path segments, query parameters or a fragment. Headers and
 * the body get the raw values (the client refuses line breaks in headers). The credential goes only to
 * its hosts, for tenants it allows.
 */
export function createHttpToolRunner(deps: HttpCallDeps & { redact?: Redactor }): AgentToolRunner<HttpTool> {
  const redact =
    deps.redact ??
    createRedactor({ secrets: deps.credentials.secretValues(), headerNames: deps.credentials.headerNames() });
  return {
    async run(tool, args, ctx) {
      const where = { nodeId: ctx.nodeId };
      const { result, request } = await performHttpCall(
        deps,
        {
          method: tool.method,
          url: tool.url,
          headers: tool.headers,
          body: tool.body,
          credential: tool.credential,
          timeoutMs: tool.timeoutMs,
          responseType: 'auto',
        },
        { ...ctx.scope, args },
        { signal: ctx.signal, tenantId: ctx.tenantId, ...where },
      );
      const secrets = deps.credentials.secretValues();
      const error = httpStatusError(result, request, { secrets, ...where });
      if (error !== null) throw error;
      return redact.json({ status: result.status, body: result.body });
    },
  };
}
