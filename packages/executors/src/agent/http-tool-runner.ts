import { type HttpTool, type JsonValue, renderTemplate, type TemplateScope } from '@flowtrace/workflow';
import { redactSecrets } from '../connector/credentials.ts';
import { type HttpCallDeps, httpStatusError, performHttpCall } from '../connector/http-call.ts';
import type { AgentToolRunner } from './tool-runner.ts';

/**
 * The `http` tool: the connector's request code (templates, SSRF-guarded client, named credential)
 * with the model's arguments under `args`. Returns `{ status, body }`; an error status (4xx/5xx) is a
 * tool error whose message names the status and a body excerpt. Credential values are removed from
 * the observation, so a server that echoes request headers cannot hand them to the model.
 *
 * Argument values are percent-encoded where the URL template inserts them: a model (or a prompt
 * injected through an earlier tool result) cannot add path segments, query parameters or a fragment.
 * Headers and the body get the raw values (the client refuses line breaks in headers).
 */
export function createHttpToolRunner(deps: HttpCallDeps): AgentToolRunner<HttpTool> {
  return {
    async run(tool, args, ctx) {
      const where = { nodeId: ctx.nodeId };
      const url = renderUrl(tool.url, ctx.scope, args, where);
      const { result, request } = await performHttpCall(
        deps,
        {
          method: tool.method,
          url,
          ...(tool.headers === undefined ? {} : { headers: tool.headers }),
          ...(tool.body === undefined ? {} : { body: tool.body }),
          ...(tool.credential === undefined ? {} : { credential: tool.credential }),
          ...(tool.timeoutMs === undefined ? {} : { timeoutMs: tool.timeoutMs }),
          responseType: 'auto',
        },
        { ...ctx.scope, args },
        { signal: ctx.signal, ...where },
      );
      const secrets = deps.credentials.secretValues();
      const error = httpStatusError(result, request, { secrets, ...where });
      if (error !== null) throw error;
      return redactJson({ status: result.status, body: result.body }, secrets);
    },
  };
}

/**
 * Renders the URL template with every argument leaf percent-encoded. `performHttpCall` renders its URL
 * once more; braces are escaped (`%7B`/`%7D`, equivalent in a URL) so that no value rendered here is
 * read as a placeholder the second time.
 */
function renderUrl(
  template: string,
  scope: TemplateScope,
  args: Record<string, JsonValue>,
  where: { nodeId: string },
): string {
  const rendered = renderTemplate(template, { ...scope, args: encodeLeaves(args) }, where);
  return rendered.replaceAll('{', '%7B').replaceAll('}', '%7D');
}

function encodeLeaves(value: JsonValue): JsonValue {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(encodeLeaves);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, encodeLeaves(item)]));
  }
  return encodeURIComponent(String(value));
}

function redactJson(value: JsonValue, secrets: readonly string[]): JsonValue {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [redactSecrets(key, secrets), redactJson(item, secrets)]),
    );
  }
  return value;
}
