import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDefinitions, provision, SignozClient } from '@flowtrace/signoz';
import { METRICS } from '@flowtrace/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSignoz, isV2, startFakeSignoz, titleOf } from './fake-signoz.ts';

/**
 * `npm run signoz:provision` against a loopback server that answers like a given SigNoz release: the CLI
 * as a real child process for the user-facing behaviour (exit codes, messages, idempotence) on a release
 * before v0.135 (v1 dashboard API) and one after (v2), and `provision()` in-process for the edge cases of
 * SigNoz's answers (rules here, dashboards across releases in dashboard-api.test.ts).
 */
const repo = path.resolve(import.meta.dirname, '../..');
const signozDir = path.join(repo, 'signoz');
const API_KEY = 'test-api-key';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('SIGNOZ_')),
  ) as Record<string, string>;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['apps/cli/src/signoz-provision.ts', ...args], {
      cwd: repo,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const fileJson = async (file: string) => JSON.parse(await readFile(path.join(signozDir, file), 'utf8'));

const DASHBOARD_TITLES = ['Flowtrace · Fleet overview', 'Flowtrace · LLM usage and cost'];

/** Each release's dashboard API: v1 before v0.135, v2 from it (the v1 endpoints answer 501 there). */
describe.each([
  { release: 'v0.138.0', api: 'v2', other: 'v1' },
  { release: 'v0.134.0', api: 'v1', other: 'v2' },
])('npm run signoz:provision against SigNoz $release', ({ release, api, other }) => {
  let signoz: FakeSignoz;
  let env: Record<string, string>;

  beforeEach(async () => {
    signoz = await startFakeSignoz({ apiKey: API_KEY, release });
    env = { SIGNOZ_URL: signoz.url, SIGNOZ_API_KEY: API_KEY };
  });
  afterEach(async () => {
    await signoz.close();
  });

  const state = () => ({
    dashboards: signoz.dashboards.map((d) => `${titleOf(d)} ${d.id}`).sort(),
    rules: signoz.rules.map((r) => `${r.rule.alert} ${r.id}`).sort(),
  });

  it('creates every dashboard and rule, then updates them in place on each later run, with no duplicates', async () => {
    const first = await runCli([], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`signoz: SigNoz ${release} `);
    expect(first.stdout).toContain(`dashboards through /api/${api}/dashboards`);
    expect(first.stdout).toMatch(
      /^created +dashboard +"Flowtrace · Fleet overview" \(dashboards\/fleet-overview\.json\) id=/m,
    );
    expect(first.stdout).toMatch(
      /^created +alert +"Flowtrace: stalled jobs" \(alerts\/stalled-jobs\.json\) id=/m,
    );
    expect(first.stdout).toContain(`signoz: ${signoz.url}: 7 created, 0 updated, 0 failed`);
    expect(signoz.dashboards.map(titleOf).sort()).toEqual(DASHBOARD_TITLES);
    expect(signoz.rules).toHaveLength(5);
    const file = await fileJson('dashboards/fleet-overview.json');
    const fleet = signoz.dashboard('Flowtrace · Fleet overview');
    if (api === 'v1') {
      // Stored as sent.
      expect(fleet?.data).toEqual(file);
    } else {
      // Converted by SigNoz: one panel per widget, the tags as key/value pairs.
      expect(fleet && isV2(fleet)).toBe(true);
      const spec = fleet?.data.spec as { panels: Record<string, unknown>; display: { description: string } };
      expect(Object.keys(spec.panels).sort()).toEqual(file.widgets.map((w: { id: string }) => w.id).sort());
      expect(spec.display.description).toBe(file.description);
      expect(fleet?.tags).toEqual(file.tags.map((value: string) => ({ key: 'tag', value })));
    }
    const stalled = signoz.rules.find((r) => r.rule.alert === 'Flowtrace: stalled jobs');
    expect(stalled?.rule).toEqual(await fileJson('alerts/stalled-jobs.json'));
    const created = state();

    for (const run of [2, 3]) {
      const callsBefore = signoz.calls.length;
      const again = await runCli([], env);
      expect(again.stderr, `run ${run}`).toBe('');
      expect(again.code, `run ${run}`).toBe(0);
      expect(again.stdout, `run ${run}`).toContain('0 created, 7 updated, 0 failed');
      expect(state(), `run ${run}: same items, same ids, nothing left behind`).toEqual(created);
      const calls = signoz.calls.slice(callsBefore).map((c) => `${c.method} ${c.path.replace(/\?.*/, '')}`);
      expect(calls.filter((c) => c.includes(`/api/${other}/dashboards`))).toEqual([]);
      expect(calls.filter((c) => c.startsWith('PUT')).sort()).toEqual(
        [
          ...signoz.dashboards.map((d) => `PUT /api/${api}/dashboards/${d.id}`),
          ...signoz.rules.map((r) => `PUT /api/v2/rules/${r.id}`),
        ].sort(),
      );
      expect(calls.filter((c) => c === 'POST /api/v2/rules')).toEqual([]);
    }
    // Every call (there were some) carried the key.
    expect(new Set(signoz.calls.map((c) => c.apiKey))).toEqual(new Set([API_KEY]));
  });

  it('carries a changed dashboard file into the existing dashboard', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'signoz-cli-'));
    try {
      await cp(signozDir, dir, { recursive: true });
      expect((await runCli(['--only', 'dashboards', '--dir', dir], env)).code).toBe(0);
      const id = signoz.dashboard('Flowtrace · Fleet overview')?.id;
      const file = await fileJson('dashboards/fleet-overview.json');
      file.widgets[0].title = 'Renamed panel';
      file.tags = ['flowtrace', 'team:platform'];
      await writeFile(path.join(dir, 'dashboards', 'fleet-overview.json'), JSON.stringify(file));

      const result = await runCli(['--only', 'dashboards', '--dir', dir], env);
      expect(result.stdout).toContain('0 created, 2 updated, 0 failed');
      const fleet = signoz.dashboard('Flowtrace · Fleet overview');
      expect(fleet?.id).toBe(id);
      expect(signoz.dashboards).toHaveLength(2);
      if (api === 'v1') {
        expect(fleet?.data).toEqual(file);
      } else {
        type Spec = { panels: Record<string, { spec: { display: { name: string } } }> };
        const spec = fleet?.data.spec as Spec | undefined;
        expect(spec?.panels[file.widgets[0].id]?.spec.display.name).toBe('Renamed panel');
        expect(fleet?.tags).toEqual([
          { key: 'tag', value: 'flowtrace' },
          { key: 'team', value: 'platform' },
        ]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits non-zero and says the API key was refused on a 401, sending nothing else', async () => {
    const result = await runCli([], { ...env, SIGNOZ_API_KEY: 'not-the-key' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the API key was refused');
    expect(result.stderr).toContain('HTTP 401');
    expect(result.stderr).toContain('7 of 7 definition(s) not sent');
    expect(result.stderr).not.toContain('not-the-key');
    // The version answers without a key; the first call that needs it stops the run.
    expect(signoz.calls.map((c) => `${c.method} ${c.path.replace(/\?.*/, '')}`)).toEqual([
      'GET /api/v1/version',
      `GET /api/${api}/dashboards`,
    ]);
    expect(signoz.dashboards).toEqual([]);
  });

  it('--only alerts leaves the dashboards alone', async () => {
    const result = await runCli(['--only', 'alerts'], env);
    expect(result.code).toBe(0);
    expect(new Set(signoz.calls.map((c) => c.path.replace(/\?.*/, '')))).toEqual(new Set(['/api/v2/rules']));
    expect(signoz.rules).toHaveLength(5);
  });
});

describe('npm run signoz:provision, before sending', () => {
  let signoz: FakeSignoz;
  let env: Record<string, string>;

  beforeEach(async () => {
    signoz = await startFakeSignoz({ apiKey: API_KEY, release: 'v0.138.0' });
    env = { SIGNOZ_URL: signoz.url, SIGNOZ_API_KEY: API_KEY };
  });
  afterEach(async () => {
    await signoz.close();
  });

  it('--dry-run checks the files and sends nothing', async () => {
    const result = await runCli(['--dry-run'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('dry run, 7 definition(s) valid, nothing sent');
    expect(result.stdout).toMatch(
      /^valid +alert +"Flowtrace: node failure ratio high" \(alerts\/node-error-rate\.json\)$/m,
    );
    expect(signoz.calls).toEqual([]);
  });

  it('names the URL it could not reach when the connection is refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runCli([], { ...env, SIGNOZ_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `cannot reach SigNoz at http://127.0.0.1:${port}/api/v1/version (connection refused)`,
    );
    expect(result.stderr).toContain('7 of 7 definition(s) not sent');
  });

  it('sends nothing while a file has a problem, naming the file and the path', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'signoz-cli-'));
    try {
      await cp(signozDir, dir, { recursive: true });
      const rule = await fileJson('alerts/queue-wait.json');
      rule.condition.thresholds.spec[0].op = 'greater';
      await writeFile(path.join(dir, 'alerts', 'queue-wait.json'), JSON.stringify(rule));
      const result = await runCli(['--dir', dir], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('nothing sent');
      expect(result.stderr).toContain('alerts/queue-wait.json: condition.thresholds.spec[0].op: ');
      expect(signoz.calls).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to run without SIGNOZ_URL and SIGNOZ_API_KEY', async () => {
    const result = await runCli([], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SIGNOZ_URL is not set');
    expect(result.stderr).toContain('SIGNOZ_API_KEY is not set');
  });
});

describe('provision()', () => {
  let signoz: FakeSignoz;
  beforeEach(async () => {
    signoz = await startFakeSignoz({ apiKey: API_KEY, release: 'v0.138.0' });
  });
  afterEach(async () => {
    await signoz.close();
  });
  const definitions = () => loadDefinitions({ dir: signozDir, catalogue: METRICS, only: 'alerts' });

  it('pages through GET /api/v2/rules, so a rule past the first page is updated, not duplicated', async () => {
    const client = new SignozClient({ baseUrl: signoz.url, apiKey: API_KEY, rulesPageSize: 10 });
    for (let i = 0; i < 25; i++) await client.createRule({ alert: `someone else's rule ${i}` });
    const defs = await definitions();
    const report = await provision(defs, {}, { signoz: client });
    expect(report.items.map((r) => r.action)).toEqual(Array(5).fill('created'));
    const again = await provision(defs, {}, { signoz: client });
    expect(again.ok).toBe(true);
    expect(again.items.map((r) => r.action)).toEqual(Array(5).fill('updated'));
    expect(signoz.rules).toHaveLength(30);
    expect(signoz.calls.some((c) => c.path === '/api/v2/rules?limit=10&offset=20')).toBe(true);
  });

  it('fails an item whose name SigNoz holds twice, and carries on with the rest', async () => {
    const client = new SignozClient({ baseUrl: signoz.url, apiKey: API_KEY });
    await client.createRule({ alert: 'Flowtrace: stalled jobs' });
    await client.createRule({ alert: 'Flowtrace: stalled jobs' });
    const report = await provision(await definitions(), {}, { signoz: client });
    expect(report.ok).toBe(false);
    const stalled = report.items.find((r) => r.name === 'Flowtrace: stalled jobs');
    expect(stalled?.action).toBe('failed');
    expect(stalled?.error).toContain('SigNoz has 2 alerts named "Flowtrace: stalled jobs"');
    expect(report.items.filter((r) => r.action === 'created')).toHaveLength(4);
  });

  it("reports SigNoz's own message when it rejects a rule", async () => {
    const client = new SignozClient({ baseUrl: signoz.url, apiKey: API_KEY });
    const defs = await definitions();
    const [first] = defs.alerts;
    if (!first) throw new Error('no alert definitions');
    const broken = { ...first, body: { ...first.body, alert: undefined } };
    const report = await provision({ dashboards: [], alerts: [broken] }, {}, { signoz: client });
    expect(report.items[0]).toMatchObject({
      action: 'failed',
      error: 'SigNoz answered HTTP 400 to POST /api/v2/rules: alert name is required',
    });
  });

  it('fills SIGNOZ_ALERT_CHANNELS into thresholds that name no channel', async () => {
    const client = new SignozClient({ baseUrl: signoz.url, apiKey: API_KEY });
    await provision(await definitions(), { alertChannels: ['slack-oncall'] }, { signoz: client });
    for (const { rule } of signoz.rules) {
      const thresholds = (rule.condition as { thresholds: { spec: { channels: string[] }[] } }).thresholds
        .spec;
      expect(thresholds.map((t) => t.channels)).toEqual([['slack-oncall']]);
    }
  });
});
