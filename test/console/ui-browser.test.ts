import { FlowtraceClient } from '@flowtrace/client';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { startTargetServer, type TargetServer } from '@flowtrace/executors/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { buildRunViewer, type HeadlessChromium, launchChromium } from '@flowtrace/ui/testing';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SIGNOZ_URL = 'http://signoz.example.test:8080';
/** Generous bounds for the page to reflect a change: the fleet and the browser share two CPU cores. */
const SEE = { timeout: 30_000 } as const;

/**
 * The run viewer in headless Chromium against the real API and worker fleet: a run submitted by API
 * shows up in the list, its page follows the nodes live (one is held running by the target server
 * until the page shows it), shows the failed node's error and its retries, and a replay from the page
 * completes the run and links both runs. The page runs under the API's Content-Security-Policy; any
 * console error (a CSP violation included) fails the test.
 */
describe('run viewer in a browser', () => {
  let db: TestDatabase;
  let target: TargetServer;
  let stack: LocalStack;
  let chromium: HeadlessChromium;
  let client: FlowtraceClient;
  let releaseOrder: () => void = () => {};
  let notifyHealthy = false;

  beforeAll(async () => {
    await buildRunViewer();
    [db, target] = await Promise.all([createTestDatabase(), startTargetServer()]);
    const orderReleased = new Promise<void>((resolve) => {
      releaseOrder = resolve;
    });
    // The order lookup answers only once the test has seen the node running in the page.
    target.on('GET', '/orders/o-77', async () => {
      await orderReleased;
      return { body: { id: 'o-77', status: 'delayed' } };
    });
    target.on('POST', '/notify', () =>
      notifyHealthy
        ? { body: { delivered: true } }
        : { status: 503, body: { error: 'notification service unavailable' } },
    );
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-ui-browser-${process.pid}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['llm', 'connector'] }],
      env: {
        LOG_LEVEL: 'info',
        SIGNOZ_URL,
        FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      },
    });
    client = new FlowtraceClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKey });
    chromium = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    releaseOrder();
    await chromium?.close();
    await stack?.stop();
    await Promise.all([db?.drop(), target?.close()]);
  });

  const workflow = () => ({
    name: 'order-follow-up',
    nodes: [
      {
        id: 'classify',
        type: 'llm',
        config: { provider: 'simulated', model: 'sim-small', prompt: 'Label: {{input.ticket}}' },
      },
      {
        id: 'order',
        type: 'connector',
        dependsOn: ['classify'],
        config: { url: `${target.url}/orders/{{input.orderId}}`, responseType: 'json' },
      },
      {
        id: 'notify',
        type: 'connector',
        dependsOn: ['order'],
        retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 200, jitter: 0 } },
        config: {
          method: 'POST',
          url: `${target.url}/notify`,
          body: { order: '{{nodes.order.output.body.id}}', status: '{{nodes.order.output.body.status}}' },
        },
      },
    ],
  });

  /** A graph node, optionally only once it shows `status`. */
  const node = (page: Page, nodeId: string, status?: string) =>
    page.locator(`.dag-node[data-node-id="${nodeId}"]${status ? `[data-status="${status}"]` : ''}`);
  const attribute = (locator: Locator, name: string) => expect.poll(() => locator.getAttribute(name), SEE);

  it('follows a run live, shows the failed node, and replays it to completion', async () => {
    const page = await chromium.context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      // The one refused key below is expected; any other error (a CSP violation included) is not.
      if (message.type() === 'error' && !/status of 401/.test(message.text()))
        consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    // Sign in with the tenant's key; the list is empty.
    await page.goto(`${stack.apiUrl}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/runs');
    await page.fill('input[name="apiKey"]', 'ft_not_a_key');
    await page.click('button[type="submit"]');
    await page.getByText('This API key is not valid or has been revoked.').waitFor(SEE);
    await page.fill('input[name="apiKey"]', stack.apiKey);
    await page.click('button[type="submit"]');
    await page.getByText('No runs yet.').waitFor(SEE);

    const { runId } = await client.submitRun({
      workflow: workflow(),
      input: { ticket: 'Where is my order?', orderId: 'o-77' },
    });

    // The list picks the run up on its own, and links to its page.
    const row = page.locator(`tr[data-run-id="${runId}"]`);
    await row.waitFor(SEE);
    await expect.poll(() => row.textContent()).toContain('order-follow-up');
    await row.locator('a.run-link').click();
    await page.waitForURL(`**/ui/runs/${runId}`);
    // Navigation stays in the page from here on: a reload would lose this marker.
    await page.evaluate(() => {
      (globalThis as unknown as { liveMarker: number }).liveMarker = 1;
    });

    // Live: the order lookup is held, so the page shows the node running, then completed once released.
    await node(page, 'classify', 'completed').waitFor(SEE);
    await node(page, 'order', 'running').waitFor(SEE);
    // Followed over the event stream, not by polling.
    await page.locator('[data-connection="live"]').waitFor(SEE);
    expect(await node(page, 'notify').getAttribute('data-status')).toBe('pending');
    expect(await page.locator('.run-page').getAttribute('data-status')).toBe('running');
    releaseOrder();
    await node(page, 'order', 'completed').waitFor(SEE);

    // The notification fails twice (503, retried once) and the run fails: its error and retry show.
    await page.locator('.run-page[data-status="failed"]').waitFor(SEE);
    expect(await node(page, 'notify').getAttribute('data-status')).toBe('failed');
    const nodeError = page.locator('.node-panel[data-node-id="notify"] [data-testid="node-error"]');
    await nodeError.waitFor(SEE);
    expect(await nodeError.textContent()).toMatch(/503/);
    await expect
      .poll(() => page.locator('.timeline-row[data-node-id="notify"] [data-kind="retried"]').count(), SEE)
      .toBeGreaterThanOrEqual(1);
    expect(await page.locator('.timeline-row[data-node-id="notify"] [data-kind="failed"]').count()).toBe(1);
    expect(await page.locator('[data-event-type="node.retried"]').count()).toBe(1);
    const run = await client.getRun(runId);
    expect(await page.getByRole('link', { name: /Trace in SigNoz/ }).getAttribute('href')).toBe(
      `${SIGNOZ_URL}/trace/${run.traceId}`,
    );
    expect(await page.locator('[data-testid="run-cost"]').textContent()).toMatch(/^\$/);
    expect(await page.evaluate(() => (globalThis as unknown as { liveMarker?: number }).liveMarker)).toBe(1);

    // Replay from the page once the notification service is back: a new run that completes.
    notifyHealthy = true;
    const orderLookups = target.requests.filter((r) => r.path === '/orders/o-77').length;
    await page.locator('button[data-action="replay"]').click();
    await page.waitForURL(
      (url) => /\/ui\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(runId),
    );
    const replayId = new URL(page.url()).pathname.split('/').at(-1) as string;
    await page.locator(`.run-page[data-run-id="${replayId}"][data-status="completed"]`).waitFor(SEE);
    await node(page, 'notify', 'completed').waitFor(SEE);
    await attribute(page.locator('[data-relation="replay-of"] a'), 'href').toBe(`/ui/runs/${runId}`);
    // The completed upstream nodes were reused, not executed again.
    expect(target.requests.filter((r) => r.path === '/orders/o-77')).toHaveLength(orderLookups);
    await expect.poll(() => node(page, 'order').textContent(), SEE).toContain('reused');

    // The original run links to its replay.
    await page.locator('[data-relation="replay-of"] a').click();
    await page.locator(`.run-page[data-run-id="${runId}"]`).waitFor(SEE);
    await attribute(page.locator('[data-relation="replays"] a'), 'href').toBe(`/ui/runs/${replayId}`);
    expect(await page.evaluate(() => (globalThis as unknown as { liveMarker?: number }).liveMarker)).toBe(1);

    expect(consoleErrors).toEqual([]);
  }, 180_000);
});
