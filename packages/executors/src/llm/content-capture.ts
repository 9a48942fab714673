import {
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
} from '@flowtrace/telemetry/semconv';
import { limitJsonDepth } from '@flowtrace/workflow';
import type { Attributes } from '@opentelemetry/api';
import { createRedactor as buildRedactor, type Redactor } from '../redaction/redactor.ts';
import type { ChatFinishReason, ChatMessage, ChatResponse } from './provider.ts';

export type { Redactor } from '../redaction/redactor.ts';

/** Whether and how prompt and completion text goes on spans. Off by default: text is often PII. */
export interface ContentCaptureOptions {
  enabled: boolean;
  /** Most characters of each content attribute. */
  maxLength: number;
  /** Patterns whose matches become `[REDACTED]`: RegExps, or strings holding a RegExp source. */
  redact: ReadonlyArray<string | RegExp>;
  /** Literal secret values (every configured provider API key) that become `[REDACTED]`. */
  secrets?: readonly string[] | undefined;
}

export const DEFAULT_CAPTURE_MAX_LENGTH = 16_384;
const TRUNCATED = '…[truncated]';

export const CONTENT_CAPTURE_DISABLED: ContentCaptureOptions = Object.freeze({
  enabled: false,
  maxLength: DEFAULT_CAPTURE_MAX_LENGTH,
  redact: [],
});

/** The redactor of captured content: the shared one (`redaction/redactor.ts`) over these options. */
export function createRedactor(options: Pick<ContentCaptureOptions, 'redact' | 'secrets'>): Redactor {
  return buildRedactor({ secrets: options.secrets, patterns: options.redact });
}

/** Spends a character budget across the text parts of one attribute, redacting before cutting. */
class Budget {
  #left: number;
  readonly #redact: Redactor;
  constructor(maxLength: number, redact: Redactor) {
    this.#left = maxLength;
    this.#redact = redact;
  }
  text(raw: string): string {
    const clean = this.#redact(raw);
    if (clean.length <= this.#left) {
      this.#left -= clean.length;
      return clean;
    }
    const cut = `${clean.slice(0, Math.max(0, this.#left))}${TRUNCATED}`;
    this.#left = 0;
    return cut;
  }
  json(value: unknown): unknown {
    const serialized = typeof value === 'string' ? value : JSON.stringify(limitJsonDepth(value));
    const text = this.text(serialized);
    if (typeof value === 'string' || text !== serialized) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    return value;
  }
}

type Part =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id: string; result: unknown };

/**
 * The opt-in input attributes of a chat span, as JSON strings following the GenAI message schemas:
 * system messages go to `gen_ai.system_instructions`, the others to `gen_ai.input.messages`. Empty when
 * capture is off.
 */
export function inputContentAttributes(
  options: ContentCaptureOptions,
  redact: Redactor,
  messages: readonly ChatMessage[],
): Attributes {
  if (!options.enabled) return {};
  const attributes: Attributes = {};
  const systemBudget = new Budget(options.maxLength, redact);
  const system: Part[] = [];
  for (const m of messages)
    if (m.role === 'system') system.push({ type: 'text', content: systemBudget.text(m.content) });
  if (system.length > 0)
    attributes[ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = cap(JSON.stringify(system), options.maxLength);

  const budget = new Budget(options.maxLength, redact);
  const input: { role: string; parts: Part[] }[] = [];
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        break;
      case 'user':
        input.push({ role: 'user', parts: [{ type: 'text', content: budget.text(m.content) }] });
        break;
      case 'assistant':
        input.push({ role: 'assistant', parts: assistantParts(m.content, m.toolCalls ?? [], budget) });
        break;
      case 'tool':
        input.push({
          role: 'tool',
          parts: [{ type: 'tool_call_response', id: m.toolCallId, result: budget.text(m.content) }],
        });
        break;
    }
  }
  attributes[ATTR_GEN_AI_INPUT_MESSAGES] = cap(JSON.stringify(input), options.maxLength);
  return attributes;
}

/** The opt-in `gen_ai.output.messages` attribute of a chat span; empty when capture is off. */
export function outputContentAttributes(
  options: ContentCaptureOptions,
  redact: Redactor,
  response: ChatResponse,
): Attributes {
  if (!options.enabled) return {};
  const budget = new Budget(options.maxLength, redact);
  const output = [
    {
      role: 'assistant',
      parts: assistantParts(response.message.text, response.message.toolCalls, budget),
      finish_reason: semconvFinishReason(response.finishReason, response.providerFinishReason),
    },
  ];
  return { [ATTR_GEN_AI_OUTPUT_MESSAGES]: cap(JSON.stringify(output), options.maxLength) };
}

function assistantParts(
  text: string | null,
  toolCalls: readonly { id: string; name: string; arguments: unknown }[],
  budget: Budget,
): Part[] {
  const parts: Part[] = [];
  if (text !== null && text !== '') parts.push({ type: 'text', content: budget.text(text) });
  for (const call of toolCalls) {
    parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: budget.json(call.arguments) });
  }
  return parts;
}

/**
 * The output-message schema's finish reasons (stop, length, content_filter, tool_call, error); a reason
 * outside them keeps the provider's own value, as the schema allows.
 */
function semconvFinishReason(reason: ChatFinishReason, raw: string | null): string {
  switch (reason) {
    case 'tool_calls':
      return 'tool_call';
    case 'other':
      return raw ?? 'stop';
    default:
      return reason;
  }
}

/** Structure (roles, keys) can push the JSON past the budget; the hard cut keeps the limit a limit. */
function cap(json: string, maxLength: number): string {
  return json.length <= maxLength ? json : `${json.slice(0, maxLength)}${TRUNCATED}`;
}
