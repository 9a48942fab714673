import { type JsonValue, type NodeExecutionContext, TransientNodeError } from '@flowtrace/workflow';
import type { ExecutorRegistry } from './executor-registry.ts';
import type { Attempt } from './node-attempt.ts';
import { assertStorableOutput } from './storable-output.ts';

export interface ExecuteLimits {
  /** Per-attempt time limit for nodes that set none. */
  defaultTimeoutMs: number;
  /** Largest node output stored in Postgres (bytes of JSON). */
  maxOutputBytes: number;
}

/**
 * Runs the attempt's executor with `controller`'s signal, which aborts on the node's timeout (as a
 * `node_timeout` transient error) as well as on the run's stop. The attempt ends when the signal aborts
 * even if the executor ignores it. The output is checked against the storable size before it is returned.
 */
export async function executeAttempt(
  executors: ExecutorRegistry,
  attempt: Attempt,
  controller: AbortController,
  limits: ExecuteLimits,
): Promise<JsonValue> {
  const { data, claimed, workflow, node, ledger, logger } = attempt;
  const executor = executors.get(node.type);
  const timeoutMs = node.timeoutMs ?? limits.defaultTimeoutMs;
  const timer = setTimeout(
    () =>
      controller.abort(
        new TransientNodeError('node_timeout', `node "${node.id}" did not finish within ${timeoutMs} ms`, {
          nodeId: node.id,
        }),
      ),
    timeoutMs,
  );
  try {
    const ctx: NodeExecutionContext = {
      runId: data.runId,
      tenantId: claimed.tenantId,
      workflowId: workflow.id,
      workflowName: workflow.name,
      nodeId: node.id,
      nodeType: node.type,
      attempt: claimed.attempt,
      config: node.config,
      input: claimed.input,
      // The claim read the completed outputs of this node's ancestors only.
      upstream: claimed.completedOutputs,
      signal: controller.signal,
      logger,
      ledger,
    };
    // An executor that ignores its signal must still not hold the attempt past its timeout.
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(controller.signal.reason);
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    const output = await Promise.race([executor.execute(ctx), aborted]);
    assertStorableOutput(output, node.id, limits.maxOutputBytes);
    return output ?? null;
  } finally {
    clearTimeout(timer);
  }
}
