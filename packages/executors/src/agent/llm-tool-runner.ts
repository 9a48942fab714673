import { type LlmTool, renderTemplate } from '@flowtrace/workflow';
import type { Meter, Tracer } from '@opentelemetry/api';
import type { ContentCaptureOptions } from '../llm/content-capture.ts';
import type { PricingTable } from '../llm/pricing.ts';
import type { ChatMessage } from '../llm/provider.ts';
import type { ProviderRegistry } from '../llm/provider-registry.ts';
import { tracedChat } from '../llm/traced-chat.ts';
import type { AgentToolRunner } from './tool-runner.ts';

export interface LlmToolRunnerDeps {
  providers: ProviderRegistry;
  tracer: Tracer;
  meter?: Meter | undefined;
  pricing: PricingTable;
  /** Content capture of the sub-call's `chat` span; the registry's API keys are added to its secrets. */
  capture: ContentCaptureOptions;
}

/**
 * The `llm` tool: renders `system` and `prompt` over the node scope plus the model's `args` and makes
 * one traced chat call on the tool's own provider and model (a `chat <model>` span under the
 * `execute_tool` span, and its own `model_cost_logs` row). Returns the answer text.
 */
export function createLlmToolRunner(deps: LlmToolRunnerDeps): AgentToolRunner<LlmTool> {
  const capture: ContentCaptureOptions = {
    ...deps.capture,
    secrets: [...(deps.capture.secrets ?? []), ...deps.providers.secrets()],
  };
  return {
    async run(tool, args, ctx) {
      const scope = { ...ctx.scope, args };
      const where = { nodeId: ctx.nodeId };
      const messages: ChatMessage[] = [];
      if (tool.system !== undefined) {
        messages.push({ role: 'system', content: renderTemplate(tool.system, scope, where) });
      }
      messages.push({ role: 'user', content: renderTemplate(tool.prompt, scope, where) });
      const { response } = await tracedChat({
        tracer: deps.tracer,
        meter: deps.meter,
        provider: deps.providers.get(tool.provider),
        providerName: tool.provider,
        request: { model: tool.model, messages },
        signal: ctx.signal,
        capture,
        ledger: ctx.ledger,
        pricing: deps.pricing,
        logger: ctx.logger,
      });
      return response.message.text ?? '';
    },
  };
}
