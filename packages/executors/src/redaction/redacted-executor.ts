import type {
  AgentStepRecord,
  JsonValue,
  NodeExecutionContext,
  NodeExecutor,
  NodeType,
} from '@flowtrace/workflow';
import type { Redactor } from './redactor.ts';

/**
 * An executor whose every result leaves through `redact`: its output (stored in `node_runs.output`,
 * returned by the API and read by successors' templates), its error (stored on the node and the run),
 * and the agent steps it records (`agent_trace_history`). The executor suite wraps every executor it
 * builds in this, so that all node types share one redaction path, whatever each does itself.
 */
export function withRedaction<T extends NodeType>(
  executor: NodeExecutor<T>,
  redact: Redactor,
): NodeExecutor<T> {
  return {
    type: executor.type,
    async execute(ctx: NodeExecutionContext<T>): Promise<JsonValue> {
      // Every other ledger method (model calls, budget reservations) passes through untouched.
      const ledger = new Proxy(ctx.ledger, {
        get(target, property) {
          if (property === 'recordAgentStep') {
            return (step: AgentStepRecord) => target.recordAgentStep(redactStep(step, redact));
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      let output: JsonValue;
      try {
        output = await executor.execute({ ...ctx, ledger });
      } catch (error) {
        throw redact.error(error);
      }
      return redact.json(output);
    },
  };
}

function redactStep(step: AgentStepRecord, redact: Redactor): AgentStepRecord {
  return {
    ...step,
    thought: step.thought === null ? null : redact(step.thought),
    toolInput: step.toolInput === null ? null : redact.json(step.toolInput),
    observation: step.observation === null ? null : redact.json(step.observation),
  };
}
