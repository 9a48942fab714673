import { FlowtraceClient, type Run, type RunEvent } from '@flowtrace/client';
import { createDatabase } from '@flowtrace/db';
import { type LocalStack, renderSpanTree } from '@flowtrace/local-stack';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';
import { ATTR_SERVICE_INSTANCE_ID } from '@flowtrace/telemetry/semconv';
import { DEMO_INPUT, demoWorkflow, HANDBOOK_DOCUMENTS } from './demo-workflow.ts';

/** One line per live event: `  #3  node.completed  classify (attempt 1)  120+48 tokens $0.000051`. */
function describeEvent(event: RunEvent): string {
  const data = (event.data ?? {}) as {
    usage?: { inputTokens: number; outputTokens: number; costUsd: number | null };
  };
  const usage = data.usage && data.usage.inputTokens + data.usage.outputTokens > 0 ? data.usage : undefined;
  return [
    `  #${String(event.seq).padEnd(3)} ${event.type.padEnd(15)}`,
    event.nodeId ? ` ${event.nodeId}${event.attempt ? ` (attempt ${event.attempt})` : ''}` : '',
    usage ? `  ${usage.inputTokens}+${usage.outputTokens} tokens` : '',
    usage?.costUsd ? ` $${usage.costUsd.toFixed(6)}` : '',
    event.message ? `  ${event.message}` : '',
  ]
    .join('')
    .trimEnd();
}

export interface DemoResult {
  runId: string;
  run: Run;
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
  const client = new FlowtraceClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });
  const ragAvailable = stack.workers.some((w) => w.name.includes('rag'));
  if (ragAvailable) {
    await client.ingestDocuments('handbook', { documents: HANDBOOK_DOCUMENTS });
    log(`ingested ${HANDBOOK_DOCUMENTS.length} handbook documents into the "handbook" collection`);
  }
  const accepted = await client.submitRun({
    workflow: demoWorkflow(crmUrl),
    input: DEMO_INPUT,
    idempotencyKey: `demo-${Date.now()}`,
  });
  log(`submitted run ${accepted.runId}; its events, live (GET /v1/runs/:id/events/stream):`);
  // The stream ends after the run's terminal event (it resumes by itself if the connection drops).
  const deadline = AbortSignal.timeout(90_000);
  for await (const event of client.streamEvents(accepted.runId, { signal: deadline }))
    log(describeEvent(event));
  if (deadline.aborted) throw new Error(`run ${accepted.runId} did not finish within 90 s`);
  const run = await client.getRun(accepted.runId);

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
    const services = new Set(spans.map((s) => String(s.resource[ATTR_SERVICE_INSTANCE_ID])));
    log(`\nspan tree (${spans.length} spans from ${services.size} processes):\n`);
    log(renderSpanTree(spans));
  } else {
    log('(spans went to OTEL_EXPORTER_OTLP_ENDPOINT; open the trace in SigNoz)');
  }
  return { runId: accepted.runId, run, spans };
}
