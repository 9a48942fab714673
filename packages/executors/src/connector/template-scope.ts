import type { NodeExecutionContext, TemplateScope } from '@flowtrace/workflow';

/** `{ input, nodes: { <id>: { output } }, run: { id } }`: the scope node templates read. */
export function templateScope(ctx: NodeExecutionContext): TemplateScope {
  return {
    input: ctx.input,
    nodes: Object.fromEntries(Object.entries(ctx.upstream).map(([id, output]) => [id, { output }])),
    run: { id: ctx.runId },
  };
}
