import path from 'node:path';
import {
  COPY_SUFFIX,
  copyTitle,
  type DashboardApiChoice,
  loadDefinitions,
  provision,
  SignozClient,
} from '@flowtrace/signoz';
import { METRICS } from '@flowtrace/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeSignoz, type FakeSignozOptions, isV2, startFakeSignoz, titleOf } from './fake-signoz.ts';

/**
 * Dashboards across SigNoz releases, through `provision()` and the real client against the fake: an
 * upgrade across v0.135 between two runs, a dashboard whose upgrade migration failed, a locked one, a copy
 * left by an interrupted run, releases whose version does not say, and paging.
 */
const signozDir = path.resolve(import.meta.dirname, '../../signoz');
const API_KEY = 'test-api-key';
const FLEET = 'Flowtrace · Fleet overview';
const LLM = 'Flowtrace · LLM usage and cost';

let signoz: FakeSignoz | undefined;
afterEach(async () => {
  await signoz?.close();
  signoz = undefined;
});

async function start(options: Omit<FakeSignozOptions, 'apiKey'>): Promise<FakeSignoz> {
  signoz = await startFakeSignoz({ apiKey: API_KEY, ...options });
  return signoz;
}

const dashboards = () => loadDefinitions({ dir: signozDir, catalogue: METRICS, only: 'dashboards' });

async function run(fake: FakeSignoz) {
  const choices: DashboardApiChoice[] = [];
  const client = new SignozClient({ baseUrl: fake.url, apiKey: API_KEY });
  const report = await provision(
    await dashboards(),
    {},
    { signoz: client, onDashboardApi: (c) => choices.push(c) },
  );
  return { report, choice: choices[0], actions: report.items.map((i) => `${i.action} ${i.name}`).sort() };
}

const snapshot = (fake: FakeSignoz) => fake.dashboards.map((d) => `${titleOf(d)} ${d.id}`).sort();
const callsSince = (fake: FakeSignoz, from: number) =>
  fake.calls.slice(from).map((c) => `${c.method} ${c.path.replace(/\?.*/, '')}`);

describe('dashboards across SigNoz releases', () => {
  it('updates in place after SigNoz is upgraded across v0.135 between two runs', async () => {
    const fake = await start({ release: 'v0.134.0' });
    const first = await run(fake);
    expect(first.choice?.api).toBe('v1');
    expect(first.actions).toEqual([`created ${FLEET}`, `created ${LLM}`]);
    const ids = snapshot(fake);
    expect(fake.dashboards.some(isV2)).toBe(false);

    fake.upgrade('v0.138.0');
    expect(fake.dashboards.map(isV2)).toEqual([true, true]);
    const from = fake.calls.length;
    const second = await run(fake);
    expect(second.choice).toMatchObject({ api: 'v2', version: 'v0.138.0' });
    expect(second.report.ok).toBe(true);
    expect(second.actions).toEqual([`updated ${FLEET}`, `updated ${LLM}`]);
    expect(snapshot(fake)).toEqual(ids);
    const calls = callsSince(fake, from);
    expect(calls.filter((c) => c.includes('/api/v1/dashboards'))).toEqual([]);
    // Per dashboard: the converted copy, the update of the existing one, the copy deleted.
    expect(calls.filter((c) => c === 'POST /api/v2/dashboards')).toHaveLength(2);
    expect(calls.filter((c) => c.startsWith('DELETE /api/v2/dashboards/'))).toHaveLength(2);
  });

  it('migrates a dashboard the upgrade left in the v1 schema, then updates it', async () => {
    const fake = await start({ release: 'v0.134.0' });
    await run(fake);
    const id = fake.dashboard(FLEET)?.id;
    fake.upgrade('v0.138.0', { leaveLegacy: [FLEET] });
    expect(fake.dashboard(FLEET) && isV2(fake.dashboard(FLEET) as never)).toBe(false);

    const from = fake.calls.length;
    const { report, actions } = await run(fake);
    expect(report.ok).toBe(true);
    expect(actions).toEqual([`updated ${FLEET}`, `updated ${LLM}`]);
    expect(callsSince(fake, from)).toContain(`POST /api/v2/dashboards/${id}/migrate`);
    const fleet = fake.dashboard(FLEET);
    expect(fleet?.id).toBe(id);
    expect(fleet && isV2(fleet)).toBe(true);
    expect(fake.dashboards).toHaveLength(2);
  });

  it.each([
    { release: 'v0.138.0', api: 'v2' },
    { release: 'v0.134.0', api: 'v1' },
  ])(
    "fails a locked dashboard with SigNoz's message and updates the rest ($release)",
    async ({ release, api }) => {
      const fake = await start({ release });
      await run(fake);
      const fleet = fake.dashboard(FLEET);
      if (!fleet) throw new Error('not created');
      fleet.locked = true;

      const { report } = await run(fake);
      expect(report.ok).toBe(false);
      const failed = report.items.find((i) => i.name === FLEET);
      expect(failed).toMatchObject({ action: 'failed' });
      expect(failed?.error).toContain(
        `SigNoz answered HTTP 400 to PUT /api/${api}/dashboards/` +
          `${fleet.id}: cannot update a locked dashboard, please unlock the dashboard to update`,
      );
      // On v2, the temporary copy is deleted all the same.
      expect(report.items.find((i) => i.name === LLM)?.action).toBe('updated');
      expect(fake.dashboards.map(titleOf).sort()).toEqual([FLEET, LLM]);
    },
  );

  it('deletes a copy an interrupted run left behind', async () => {
    const fake = await start({ release: 'v0.138.0' });
    await run(fake);
    const client = new SignozClient({ baseUrl: fake.url, apiKey: API_KEY });
    const [fleetDefinition] = (await dashboards()).dashboards;
    if (!fleetDefinition) throw new Error('no dashboards');
    const api = await client.dashboards();
    await api.create({ ...fleetDefinition.body, title: copyTitle(fleetDefinition.name) });
    expect(fake.dashboards).toHaveLength(3);

    const { report } = await run(fake);
    expect(report.ok).toBe(true);
    expect(fake.dashboards.map(titleOf).sort()).toEqual([FLEET, LLM]);
  });

  it.each([
    { release: 'v0.138.0', reportedVersion: 'main-1a2b3c4', api: 'v2', how: 'answered 501' },
    { release: 'v0.134.0', reportedVersion: null, api: 'v1', how: 'answers' },
  ] as const)(
    'asks GET /api/v1/dashboards when the version does not say ($release reporting $reportedVersion)',
    async ({ release, reportedVersion, api, how }) => {
      const fake = await start({ release, reportedVersion });
      const first = await run(fake);
      expect(first.choice?.api).toBe(api);
      expect(first.choice?.reason).toContain(`GET /api/v1/dashboards ${how}`);
      expect(first.actions).toEqual([`created ${FLEET}`, `created ${LLM}`]);
      const second = await run(fake);
      expect(second.actions).toEqual([`updated ${FLEET}`, `updated ${LLM}`]);
      expect(fake.dashboards).toHaveLength(2);
    },
  );

  it('pages through GET /api/v2/dashboards, so a dashboard past the first page is updated, not duplicated', async () => {
    const fake = await start({ release: 'v0.138.0' });
    const api = await new SignozClient({ baseUrl: fake.url, apiKey: API_KEY }).dashboards();
    for (let i = 0; i < 230; i++) {
      // Named so that ours sort after the first page (the provisioner pages by name).
      await api.create({ title: `0 someone else's ${i}`, version: 'v5', tags: [], layout: [], widgets: [] });
    }
    expect((await run(fake)).actions).toEqual([`created ${FLEET}`, `created ${LLM}`]);
    const from = fake.calls.length;
    expect((await run(fake)).actions).toEqual([`updated ${FLEET}`, `updated ${LLM}`]);
    expect(fake.dashboards).toHaveLength(232);
    expect(
      fake.calls.slice(from).some((c) => c.path.startsWith('/api/v2/dashboards?limit=200&offset=200')),
    ).toBe(true);
  });

  it('names the temporary copy within the 128 characters SigNoz keeps of a title', () => {
    expect(copyTitle(FLEET)).toBe(`${FLEET}${COPY_SUFFIX}`);
    const long = 'x'.repeat(200);
    expect([...copyTitle(long)]).toHaveLength(128);
    expect(copyTitle(long).endsWith(COPY_SUFFIX)).toBe(true);
  });
});
