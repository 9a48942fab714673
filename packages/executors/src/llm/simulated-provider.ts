import { createHash } from 'node:crypto';
import { GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_SIMULATED } from '@flowtrace/telemetry/semconv';
import type { JsonValue } from '@flowtrace/workflow';
import { sleep } from './abortable-sleep.ts';
import { sampleFromSchema } from './json-schema-sample.ts';
import type { ChatCallOptions, ChatProvider, ChatRequest, ChatResponse, ChatToolCall } from './provider.ts';

export interface SimulatedProviderOptions {
  /** Base latency of every call in ms (default 0). */
  latencyMs?: number | undefined;
  /** Extra random latency in [0, jitterMs) ms (default 0); the only non-deterministic part. */
  jitterMs?: number | undefined;
  /** Approximate length of text answers, in tokens (~4 characters each; default 64). */
  outputTokens?: number | undefined;
}

const CHARS_PER_TOKEN = 4;
const PREFIX = '[simulated] ';
const WORDS = [
  'workflow',
  'signal',
  'trace',
  'model',
  'answer',
  'context',
  'node',
  'result',
  'latency',
  'token',
  'span',
  'queue',
  'worker',
  'batch',
  'vector',
  'prompt',
  'summary',
  'insight',
  'metric',
  'record',
  'the',
  'a',
  'of',
  'and',
  'with',
  'for',
  'across',
  'each',
  'every',
  'this',
  'that',
  'from',
  'into',
  'stable',
  'quick',
  'careful',
  'clear',
  'simple',
  'useful',
  'likely',
  'steady',
  'brief',
  'complete',
  'shows',
  'suggests',
  'returns',
  'covers',
  'links',
  'keeps',
  'reads',
  'finds',
  'builds',
  'checks',
];

/**
 * An offline provider for demos, load tests and benchmarks. It is not a model: every answer starts with
 * `[simulated]`, spans carry `gen_ai.provider.name = flowtrace.simulated`, and the pricing table gives it
 * an obviously fake price.
 *
 * Deterministic: the answer, its id and its token counts are functions of the request (a SHA-256 of the
 * model and messages); only the optional latency jitter is random. With tools, it calls them one per
 * turn in the order offered, each until the conversation holds a result for it, with arguments built from
 * the tool's JSON schema (required properties; strings taken from the last user message); once every
 * tool has a result it answers. With `responseFormat`, the answer is JSON satisfying the schema.
 */
export class SimulatedProvider implements ChatProvider {
  readonly genAiProviderName = GEN_AI_PROVIDER_NAME_VALUE_FLOWTRACE_SIMULATED;
  readonly server = undefined;
  readonly supportsTemperature = true;
  readonly #latencyMs: number;
  readonly #jitterMs: number;
  readonly #outputTokens: number;

  constructor(options: SimulatedProviderOptions = {}) {
    this.#latencyMs = Math.max(0, options.latencyMs ?? 0);
    this.#jitterMs = Math.max(0, options.jitterMs ?? 0);
    this.#outputTokens = Math.max(1, Math.floor(options.outputTokens ?? 64));
  }

  async chat(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResponse> {
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason;
    const delay = this.#latencyMs + (this.#jitterMs > 0 ? Math.random() * this.#jitterMs : 0);
    if (delay > 0) await sleep(delay, signal);

    const digest = createHash('sha256')
      .update(
        JSON.stringify([
          request.model,
          request.messages,
          request.tools ?? [],
          request.responseFormat ?? null,
        ]),
      )
      .digest();
    const random = seededRandom(digest.readUInt32BE(0));
    const inputTokens = estimateTokens(
      request.messages.map(messageText).join('\n') + (request.tools ? JSON.stringify(request.tools) : ''),
    );
    const id = `sim-${digest.toString('hex').slice(0, 24)}`;
    const prompt = lastUserText(request);

    const next = nextToolToCall(request);
    if (next !== undefined) {
      const { tool, index } = next;
      const args = sampleFromSchema(tool.parameters, {
        random,
        properties: 'required',
        stringFor: () => prompt.slice(0, 200),
        stringMatching: (pattern) => prompt.split(/[\s,;:!?()[\]{}"'<>]+/).find((word) => pattern.test(word)),
      });
      const call: ChatToolCall = {
        id: `call_sim_${digest.toString('hex').slice(0, 12)}_${index}`,
        name: tool.name,
        arguments: args,
      };
      return {
        id,
        model: request.model,
        message: { text: null, toolCalls: [call] },
        finishReason: 'tool_calls',
        providerFinishReason: 'tool_calls',
        usage: usage(inputTokens, estimateTokens(JSON.stringify(args) + tool.name)),
      };
    }

    let text: string;
    if (request.responseFormat !== undefined) {
      const value: JsonValue = sampleFromSchema(request.responseFormat.schema, {
        random,
        properties: 'all',
        stringFor: (name) => `${name ? `${name} ` : ''}${words(random, 3)}`.trim(),
      });
      text = JSON.stringify(value);
    } else {
      const budget =
        Math.min(this.#outputTokens, request.maxTokens ?? Number.POSITIVE_INFINITY) * CHARS_PER_TOKEN;
      text = PREFIX;
      while (text.length < budget) text += `${text === PREFIX ? '' : ' '}${words(random, 1)}`;
      text = `${text.slice(0, Math.max(budget, PREFIX.length + 1)).trimEnd()}.`;
    }
    return {
      id,
      model: request.model,
      message: { text, toolCalls: [] },
      finishReason: 'stop',
      providerFinishReason: 'stop',
      usage: usage(inputTokens, estimateTokens(text)),
    };
  }
}

function nextToolToCall(
  request: ChatRequest,
): { tool: NonNullable<ChatRequest['tools']>[number]; index: number } | undefined {
  const tools = request.tools ?? [];
  if (tools.length === 0) return undefined;
  const nameByCallId = new Map<string, string>();
  for (const message of request.messages) {
    if (message.role === 'assistant')
      for (const call of message.toolCalls ?? []) nameByCallId.set(call.id, call.name);
  }
  const answered = new Set<string>();
  for (const message of request.messages) {
    if (message.role !== 'tool') continue;
    const name = message.name ?? nameByCallId.get(message.toolCallId);
    if (name !== undefined) answered.add(name);
  }
  const index = tools.findIndex((tool) => !answered.has(tool.name));
  const tool = tools[index];
  return tool === undefined ? undefined : { tool, index };
}

function messageText(message: ChatRequest['messages'][number]): string {
  if (message.role === 'assistant') {
    return (message.content ?? '') + (message.toolCalls ? JSON.stringify(message.toolCalls) : '');
  }
  return message.content;
}

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i];
    if (message?.role === 'user') return message.content.trim();
  }
  return 'simulated';
}

function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / CHARS_PER_TOKEN));
}

function usage(inputTokens: number, outputTokens: number): ChatResponse['usage'] {
  return { inputTokens, outputTokens, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0 };
}

function words(random: () => number, count: number): string {
  return Array.from({ length: count }, () => WORDS[Math.floor(random() * WORDS.length)] ?? 'simulated').join(
    ' ',
  );
}

/** mulberry32: small, fast, good enough for picking words deterministically. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
