import { createDatabase } from '@flowtrace/db';
import { type LocalStack, renderSpanTree } from '@flowtrace/local-stack';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';
import { DEMO_INPUT, demoWorkflow, HANDBOOK_DOCUMENTS } from './demo-workflow.ts';

interface RunBody {
  status: string;
  traceId: string;
  traceUrl: string;
  sampled: boolean;
  error: { code: string; message: string } | null;
  usage: { modelCalls: number; inputTokens: number; outputTokens: number; costUsd: number | null };
  nodes: { nodeId: string; type: string; status: string; attempts: number; durationMs: number | null }[];
}

async function api<T>(stack: LocalStack, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as T & { error?: { message: string } };
  if (!response.ok)
    throw new Error(`${method} ${path} answered ${response.status}: ${json.error?.message ?? ''}`);
  return json;
}

export interface DemoResult {
  runId: string;
  run: RunBody;
  spans: ReceivedSpan[];
}

/**
 * Ingests the handbook, submits the demo workflow, waits for the run to end and (with the local receiver)
 * for its trace, then prints the run's status, trace id, correlated rows and span tree.
 */
export async function runDemo(
  stack: LocalStack,
  crmUrl: string,
  log: (line: string) => void,
): Promise<DemoResult> {
  const ragAvailable = stack.workers.some((w) => w.name.includes('rag'));
  if (ragAvailable) {
    await api(stack, 'POST', '/v1/collections/handbook/documents', { documents: HANDBOOK_DOCUMENTS });
    log(`ingested ${HANDBOOK_DOCUMENTS.length} handbook documents into the "handbook" collection`);
  }
  const accepted = await api<{ runId: string; traceId: string }>(stack, 'POST', '/v1/runs', {
    workflow: demoWorkflow(crmUrl),
    input: DEMO_INPUT,
    idempotencyKey: `demo-${Date.now()}`,
  });
  log(`submitted run ${accepted.runId}`);

  const deadline = Date.now() + 90_000;
  let run: RunBody;
  for (;;) {
    run = await api<RunBody>(stack, 'GET', `/v1/runs/${accepted.runId}`);
    if (['completed', 'failed', 'cancelled'].includes(run.status)) break;
    if (Date.now() > deadline)
      throw new Error(`run ${accepted.runId} did not finish within 90 s (status ${run.status})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  let spans: ReceivedSpan[] = [];
  if (stack.receiver) {
    const receiver = stack.receiver;
    const ofRun = () => receiver.spans().filter((s) => s.traceId === run.traceId);
    await receiver.waitFor(() => ofRun().some((s) => s.name.startsWith('invoke_workflow')), {
      timeoutMs: 15_000,
      message: "the run's invoke_workflow span",
    });
    // Let the other processes' last batches arrive (batch delay 500 ms).
    let count = -1;
    while (count !== ofRun().length) {
      count = ofRun().length;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    spans = ofRun();
  }

  const database = createDatabase({ url: stack.databaseUrl, maxConnections: 1, prepare: false });
  const [rows] = await database.sql`
    select (select count(*) from event_logs where trace_id = ${run.traceId})::int as events,
           (select count(*) from model_cost_logs where trace_id = ${run.traceId})::int as costs,
           (select count(*) from agent_trace_history where trace_id = ${run.traceId})::int as steps`;
  await database.close();

  log('');
  log(
    `run ${accepted.runId}: ${run.status.toUpperCase()}${run.error ? ` (${run.error.code}: ${run.error.message})` : ''}`,
  );
  log(`trace id: ${run.traceId}${run.sampled ? '' : ' (not sampled)'}`);
  log(`SigNoz:   ${run.traceUrl}`);
  for (const node of run.nodes) {
    log(
      `  ${node.nodeId.padEnd(10)} ${node.type.padEnd(10)} ${node.status.padEnd(10)} attempts=${node.attempts} ${node.durationMs ?? '-'} ms`,
    );
  }
  log(
    `model calls: ${run.usage.modelCalls}, tokens in/out: ${run.usage.inputTokens}/${run.usage.outputTokens}, ` +
      `cost: ${run.usage.costUsd === null ? 'n/a' : `$${run.usage.costUsd.toFixed(6)}`} (simulated prices)`,
  );
  log(
    `rows with this trace id: event_logs ${rows?.events}, model_cost_logs ${rows?.costs}, agent_trace_history ${rows?.steps}`,
  );
  if (spans.length > 0) {
    const services = new Set(spans.map((s) => String(s.resource['service.instance.id'])));
    log(`\nspan tree (${spans.length} spans from ${services.size} processes):\n`);
    log(renderSpanTree(spans));
  } else {
    log('(spans went to OTEL_EXPORTER_OTLP_ENDPOINT; open the trace in SigNoz)');
  }
  return { runId: accepted.runId, run, spans };
}
