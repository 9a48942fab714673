import type {
  AgentStepRecord,
  ModelCallRecord,
  NodeExecutionContext,
  NodeExecutor,
} from '@flowtrace/workflow';
import { SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { AgentNodeOutput } from '../agent/agent-executor.ts';

/** A ledger entry with the span that was active when it was recorded. */
export interface Recorded<T> {
  record: T;
  spanId: string | undefined;
}

export interface AgentNodeExecution {
  output: AgentNodeOutput | undefined;
  error: unknown;
  steps: Recorded<AgentStepRecord>[];
  calls: Recorded<ModelCallRecord>[];
}

/**
 * Executes an agent node inside a CONSUMER span `process nodes.agent`, as a worker does, with a ledger
 * that records every entry and the span active when it was recorded. A thrown error is returned, not
 * rethrown, so that a test can look at the spans of a failed node too.
 */
export async function executeAgentNode(
  tracer: Tracer,
  executor: NodeExecutor<'agent'>,
  ctx: Omit<NodeExecutionContext<'agent'>, 'ledger'>,
): Promise<AgentNodeExecution> {
  const steps: Recorded<AgentStepRecord>[] = [];
  const calls: Recorded<ModelCallRecord>[] = [];
  const activeSpanId = () => trace.getActiveSpan()?.spanContext().spanId;
  let output: AgentNodeOutput | undefined;
  let error: unknown;
  await tracer.startActiveSpan('process nodes.agent', { kind: SpanKind.CONSUMER }, async (span) => {
    try {
      output = (await executor.execute({
        ...ctx,
        ledger: {
          recordModelCall: (record) => void calls.push({ record, spanId: activeSpanId() }),
          recordAgentStep: (record) => steps.push({ record, spanId: activeSpanId() }),
        },
      })) as AgentNodeOutput;
    } catch (e) {
      error = e;
    } finally {
      span.end();
    }
  });
  return { output, error, steps, calls };
}
