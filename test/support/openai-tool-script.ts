import type { FakeHttpResponse, RecordedRequest } from '@flowtrace/executors/testing';

interface ChatBody {
  model: string;
  messages: { role: string; content?: unknown }[];
  tools?: { function: { name: string } }[];
}

function completion(
  body: ChatBody,
  message: Record<string, unknown>,
  finishReason: string,
): FakeHttpResponse {
  return {
    status: 200,
    body: {
      id: `chatcmpl-e2e-${Math.random().toString(36).slice(2, 10)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: `${body.model}-2026-01-01`,
      choices: [
        { index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason, logprobs: null },
      ],
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
    },
  };
}

/**
 * A deterministic OpenAI Chat Completions script for agent tests: while the conversation has no tool
 * result, call the offered tools in order (one per response, with `args(toolName)`); then answer.
 * Requests without tools get a plain answer.
 */
export function toolCallingScript(args: (toolName: string) => Record<string, unknown>) {
  return (request: RecordedRequest): FakeHttpResponse | undefined => {
    if (request.path !== '/v1/chat/completions') return undefined;
    const body = request.body as ChatBody;
    const tools = body.tools ?? [];
    const answered = body.messages.filter((m) => m.role === 'tool').length;
    const next = tools[answered];
    if (next) {
      const name = next.function.name;
      return completion(
        body,
        {
          content: null,
          tool_calls: [
            {
              id: `call_${answered}_${name}`,
              type: 'function',
              function: { name, arguments: JSON.stringify(args(name)) },
            },
          ],
        },
        'tool_calls',
      );
    }
    return completion(body, { content: `answer after ${answered} tool results` }, 'stop');
  };
}

/** A plain chat completion answer for `request` (OpenAI wire format), optionally after a delay. */
export function chatAnswer(request: RecordedRequest, text: string, delayMs = 0): FakeHttpResponse {
  const response = completion(request.body as ChatBody, { content: text }, 'stop');
  return { ...response, delayMs };
}
