import {
  type JsonSchemaObject,
  type LlmNodeConfig,
  type LlmTool,
  PermanentNodeError,
  renderTemplate,
  templateReferences,
} from '@flowtrace/workflow';
import type { Meter, Tracer } from '@opentelemetry/api';
import type { ContentCaptureOptions } from '../llm/content-capture.ts';
import type { PricingTable } from '../llm/pricing.ts';
import type { ChatMessage } from '../llm/provider.ts';
import type { ProviderRegistry } from '../llm/provider-registry.ts';
import { tracedChat } from '../llm/traced-chat.ts';
import type { AgentToolRunner } from './tool-runner.ts';

/**
 * Finds the prompt of another workflow's `llm` node, for `llm` tools that reference one. Implementations
 * must only return workflows of the given tenant.
 */
export type WorkflowPromptResolver = (ref: {
  tenantId: string;
  workflowId: string;
  nodeId: string;
}) => Promise<LlmNodeConfig | undefined>;

export interface LlmToolRunnerDeps {
  /** Resolves `workflowId`/`nodeId` tools; without it such tools report that they are unavailable. */
  resolvePrompt?: WorkflowPromptResolver | undefined;
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
 * `execute_tool` span, and its own `model_cost_logs` row). Returns the answer text. A tool that names
 * another workflow's `llm` node runs that node's provider, model and prompt, with the model's arguments
 * as the prompt's `input`.
 */
export function createLlmToolRunner(deps: LlmToolRunnerDeps): AgentToolRunner<LlmTool> {
  const capture: ContentCaptureOptions = {
    ...deps.capture,
    secrets: [...(deps.capture.secrets ?? []), ...deps.providers.secrets()],
  };
  const resolve = async (tool: LlmTool, tenantId: string, nodeId: string): Promise<PromptSource> => {
    if (tool.workflowId === undefined || tool.nodeId === undefined) {
      return {
        provider: tool.provider ?? '',
        model: tool.model ?? '',
        system: tool.system,
        prompt: tool.prompt ?? '',
        referenced: false,
      };
    }
    const config = await deps.resolvePrompt?.({ tenantId, workflowId: tool.workflowId, nodeId: tool.nodeId });
    if (config === undefined) {
      throw new PermanentNodeError(
        'tool_error',
        `llm tool "${tool.name}" refers to node "${tool.nodeId}" of workflow ${tool.workflowId}, which is not an llm node of this tenant's workflows`,
        { nodeId },
      );
    }
    return {
      provider: config.provider,
      model: config.model,
      system: config.system,
      prompt: config.prompt,
      referenced: true,
    };
  };
  return {
    async parameters(tool, ctx) {
      if (tool.parameters !== undefined || tool.workflowId === undefined) return tool.parameters;
      const source = await resolve(tool, ctx.tenantId, ctx.nodeId);
      return inputParameters([source.system ?? '', source.prompt]);
    },
    async run(tool, args, ctx) {
      const source = await resolve(tool, ctx.tenantId, ctx.nodeId);
      // Another workflow's prompt reads its own run input: the model's arguments stand in for it.
      const scope = source.referenced ? { input: args, args, run: ctx.scope.run } : { ...ctx.scope, args };
      const where = { nodeId: ctx.nodeId };
      const messages: ChatMessage[] = [];
      if (source.system !== undefined) {
        messages.push({ role: 'system', content: renderTemplate(source.system, scope, where) });
      }
      messages.push({ role: 'user', content: renderTemplate(source.prompt, scope, where) });
      const { response } = await tracedChat({
        tracer: deps.tracer,
        meter: deps.meter,
        provider: deps.providers.get(source.provider),
        providerName: source.provider,
        request: { model: source.model, messages },
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

interface PromptSource {
  provider: string;
  model: string;
  system: string | undefined;
  prompt: string;
  referenced: boolean;
}

/** Arguments for a referenced prompt: one required string per top-level `input.<name>` it reads. */
function inputParameters(templates: readonly string[]): JsonSchemaObject {
  const names = new Set<string>();
  for (const text of templates) {
    for (const ref of templateReferences(text)) {
      const field = ref.root === 'input' ? ref.path.split(/[.[]/)[1] : undefined;
      if (field) names.add(field);
    }
  }
  return {
    type: 'object',
    properties: Object.fromEntries(
      [...names].map((n) => [n, { type: 'string', description: `input.${n} of the prompt` }]),
    ),
    required: [...names],
  };
}
