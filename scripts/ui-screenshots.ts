/**
 * `npm run screenshots`: the run viewer's screenshots in docs/screenshots/, taken from the real page.
 * Starts the local stack (embedded Postgres, local Redis, one worker per node type) with a simulated LLM
 * that takes a few hundred milliseconds per call, runs a few workflows against loopback services (one
 * completes, one fails at its last node and is replayed once the service is back, one is cancelled, one
 * is still running), then photographs the runs list and the failed run in headless Chromium at 1280x800.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowtraceClient, type Run, type SubmitRunRequest } from '@flowtrace/client';
import { startTargetServer } from '@flowtrace/executors/testing';
import { startLocalStack } from '@flowtrace/local-stack';
import { buildRunViewer, launchChromium } from '@flowtrace/ui/testing';
import { startDemoCrmServer } from '../apps/cli/src/demo/demo-crm-server.ts';
import { DEMO_INPUT, demoWorkflow, HANDBOOK_DOCUMENTS } from '../apps/cli/src/demo/demo-workflow.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = path.join(ROOT, 'docs/screenshots');
const log = (line: string) => console.log(`· ${line}`);

await buildRunViewer();
const crm = await startDemoCrmServer();
const services = await startTargetServer();
let notifyHealthy = false;
let releaseExport: () => void = () => {};
const exportHeld = new Promise<void>((resolve) => {
  releaseExport = resolve;
});
services.on('POST', '/notify', () =>
  notifyHealthy
    ? { delayMs: 150, body: { delivered: true, channel: 'email' } }
    : { delayMs: 150, status: 503, body: { error: 'notification service unavailable' } },
);
services.on('POST', '/export', async () => {
  await exportHeld;
  return { body: { exported: 1 } };
});

const stack = await startLocalStack({
  dataDir: path.join(ROOT, '.data/screenshots'),
  env: {
    FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
    FLOWTRACE_PROVIDERS: JSON.stringify({
      simulated: { kind: 'simulated', simulated: { latencyMs: 350, jitterMs: 400, outputTokens: 96 } },
    }),
  },
  onProgress: log,
});

const client = new FlowtraceClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });

async function waitFor(runId: string, done: (run: Run) => boolean): Promise<Run> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = await client.getRun(runId);
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${run.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
const ended = (run: Run) => ['completed', 'failed', 'cancelled'].includes(run.status);
const exporting = (run: Run) => run.nodes.some((n) => n.nodeId === 'export' && n.status === 'running');
const start = async (workflow: SubmitRunRequest['workflow'], input: unknown) =>
  (await client.submitRun({ workflow, input })).runId;

try {
  if (stack.workers.some((w) => w.name.includes('rag'))) {
    await client.ingestDocuments('handbook', { documents: HANDBOOK_DOCUMENTS });
  }
  const support = demoWorkflow(crm.url);
  const notifying = {
    ...support,
    name: 'support-triage-notify',
    nodes: [
      ...support.nodes,
      {
        id: 'notify',
        type: 'connector',
        dependsOn: ['reply'],
        retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 500, jitter: 0 } },
        config: {
          method: 'POST',
          url: `${services.url}/notify`,
          body: { customer: '{{input.customerId}}', reply: '{{nodes.reply.output.text}}' },
        },
      },
    ],
  };
  const digest = {
    name: 'nightly-digest',
    nodes: [
      {
        id: 'summarize',
        type: 'llm',
        config: { provider: 'simulated', model: 'sim-small', prompt: 'Summarize: {{input.topic}}' },
      },
      {
        id: 'export',
        type: 'connector',
        dependsOn: ['summarize'],
        config: {
          method: 'POST',
          url: `${services.url}/export`,
          body: { text: '{{nodes.summarize.output.text}}' },
        },
      },
    ],
  };

  log('running the workflows');
  const completed = await start(support, DEMO_INPUT);
  await waitFor(completed, ended);
  const failed = await start(notifying, DEMO_INPUT);
  await waitFor(failed, ended);
  notifyHealthy = true;
  const replay = await client.replayRun(failed);
  await waitFor(replay.runId, ended);
  const cancelled = await start(digest, { topic: 'weekly incidents' });
  await waitFor(cancelled, exporting);
  await client.cancelRun(cancelled);
  const running = await start(digest, { topic: 'open tickets' });
  await waitFor(running, exporting);

  log('taking the screenshots');
  await mkdir(OUT, { recursive: true });
  const chromium = await launchChromium({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await chromium.context.newPage();
    await page.goto(`${stack.apiUrl}/ui/runs`);
    await page.fill('input[name="apiKey"]', stack.apiKey);
    await page.click('button[type="submit"]');
    await page.locator('tr[data-run-id]').nth(4).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, 'runs-list.png') });

    await page.locator(`tr[data-run-id="${failed}"] a.run-link`).click();
    await page
      .locator(`.run-page[data-run-id="${failed}"] [data-relation="replays"]`)
      .waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="node-error"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, 'run.png') });
  } finally {
    await chromium.close();
  }
  log(`wrote ${path.relative(ROOT, OUT)}/runs-list.png and run.png`);
} finally {
  releaseExport();
  await stack.stop();
  await Promise.all([crm.close(), services.close()]);
}
