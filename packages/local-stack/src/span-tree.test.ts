import { FlowtraceAttributes, semconv } from '@flowtrace/telemetry';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';
import { describe, expect, it } from 'vitest';
import { renderSpanTree } from './span-tree.ts';

const TRACE = 'a'.repeat(32);

function span(
  spanId: string,
  parentSpanId: string | undefined,
  name: string,
  attributes: ReceivedSpan['attributes'],
  startMs: number,
): ReceivedSpan {
  return {
    traceId: TRACE,
    spanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    name,
    kind: parentSpanId ? 'CONSUMER' : 'SERVER',
    startTimeUnixNano: BigInt(startMs) * 1_000_000n,
    endTimeUnixNano: BigInt(startMs + 2) * 1_000_000n,
    attributes,
    status: { code: 'UNSET' },
    events: [],
    links: [],
    resource: { [semconv.ATTR_SERVICE_NAME]: 'flowtrace-worker-llm' },
    scope: { name: 'test' },
  };
}

describe('renderSpanTree', () => {
  it("shows each span's node, attempt and token usage from the vocabulary's attribute names", () => {
    const tree = renderSpanTree([
      span('1'.repeat(16), undefined, 'POST /v1/runs', { [semconv.ATTR_HTTP_RESPONSE_STATUS_CODE]: 202 }, 0),
      span(
        '2'.repeat(16),
        '1'.repeat(16),
        'process nodes.llm',
        { [FlowtraceAttributes.NODE_ID]: 'ask', [FlowtraceAttributes.NODE_ATTEMPT]: 2 },
        1,
      ),
      span(
        '3'.repeat(16),
        '2'.repeat(16),
        'chat sim-small',
        { [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 12, [semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 5 },
        2,
      ),
    ]);
    const lines = tree.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^POST \/v1\/runs {2}\[server · flowtrace-worker-llm · 2\.0 ms · http_status=202\]$/,
    );
    expect(lines[1]).toMatch(/^└─ process nodes\.llm .* · node=ask attempt=2\]$/);
    expect(lines[2]).toMatch(/^ {3}└─ chat sim-small .* · input_tokens=12 output_tokens=5\]$/);
  });

  it('marks a span whose parent is missing', () => {
    const tree = renderSpanTree([span('4'.repeat(16), 'f'.repeat(16), 'process nodes.rag', {}, 0)]);
    expect(tree).toMatch(/^\(parent missing\) process nodes\.rag/);
  });
});
