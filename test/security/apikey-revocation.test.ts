import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';
import { expectErrorShape } from './api-harness.ts';

const run = promisify(execFile);
const CACHE_TTL_MS = 500;

/** `npm run apikey` as a user runs it: the real CLI in its own process, against the fleet's database. */
async function apikey(
  databaseUrl: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['apps/cli/src/apikey.ts', ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('API keys can be listed and revoked with npm run apikey, and revoked keys get 401', () => {
  let fleet: InProcessFleet;
  const get = (key: string) =>
    fleet.app.inject({
      method: 'GET',
      url: `/v1/runs/${randomUUID()}`,
      headers: { authorization: `Bearer ${key}` },
    });
  const create = async (tenant: string, label: string) => {
    const created = await apikey(fleet.db.url, ['--tenant', tenant, '--label', label, '--json']);
    expect(created.code, created.stderr).toBe(0);
    return JSON.parse(created.stdout) as { key: string; apiKeyId: string; tenantId: string };
  };

  beforeAll(async () => {
    fleet = await startInProcessFleet({
      executors: [],
      deferredSpans: noopDeferredSpanEmitter,
      apiKeyCacheTtlMs: CACHE_TTL_MS,
    });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it('revokes one key of a tenant: the API refuses it once its cache expires, and keeps serving the others', async () => {
    const first = await create('acme', 'ci');
    const second = await create('acme', 'laptop');
    // Authenticated (a 404 for a run that does not exist), and now cached by the API.
    expect((await get(first.key)).statusCode).toBe(404);

    const listed = await apikey(fleet.db.url, ['--list', '--tenant', 'acme']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(first.apiKeyId);
    expect(listed.stdout).toContain(second.apiKeyId);
    expect(listed.stdout).toMatch(/laptop/);
    for (const secret of [first.key, second.key]) {
      expect(listed.stdout).not.toContain(secret);
      // Not even the secret part after the public prefix.
      expect(listed.stdout).not.toContain(secret.split('_').at(-1));
    }

    const revoked = await apikey(fleet.db.url, ['--revoke', first.apiKeyId]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked/);
    expect(revoked.stdout).not.toContain(first.key);

    const deadline = Date.now() + CACHE_TTL_MS + 10_000;
    let response = await get(first.key);
    while (response.statusCode !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      response = await get(first.key);
    }
    expect(response.statusCode).toBe(401);
    expectErrorShape(response.statusCode, response.json());
    expect(response.json().error).toEqual({
      code: 'unauthorized',
      message: 'API key is not valid or has been revoked',
    });
    expect((await get(second.key)).statusCode).toBe(404);

    const json = JSON.parse(
      (await apikey(fleet.db.url, ['--list', '--tenant', 'acme', '--json'])).stdout,
    ) as {
      apiKeyId: string;
      revokedAt: string | null;
    }[];
    expect(json.find((k) => k.apiKeyId === first.apiKeyId)?.revokedAt).toEqual(expect.any(String));
    expect(json.find((k) => k.apiKeyId === second.apiKeyId)?.revokedAt).toBeNull();
    expect(JSON.stringify(json)).not.toContain(first.key);
    // Revoking again changes nothing and succeeds.
    expect((await apikey(fleet.db.url, ['--revoke', first.apiKeyId])).code).toBe(0);
  });

  it("lists only the named tenant's keys and revokes within a tenant only when one is named", async () => {
    const mine = await create('tenant-one', 'one');
    const theirs = await create('tenant-two', 'two');
    const listed = await apikey(fleet.db.url, ['--list', '--tenant', 'tenant-one', '--json']);
    expect((JSON.parse(listed.stdout) as { apiKeyId: string }[]).map((k) => k.apiKeyId)).toEqual([
      mine.apiKeyId,
    ]);

    const wrongTenant = await apikey(fleet.db.url, ['--revoke', theirs.apiKeyId, '--tenant', 'tenant-one']);
    expect(wrongTenant.code).toBe(1);
    expect(wrongTenant.stderr).toMatch(/no API key/);
    expect((await get(theirs.key)).statusCode).toBe(404);
  });

  it('refuses bad arguments with a usage message, and reports an unknown key', async () => {
    for (const args of [
      ['--revoke', 'not-a-uuid'],
      ['--list'],
      ['--surprise'],
      ['--list', '--revoke', randomUUID()],
    ]) {
      const result = await apikey(fleet.db.url, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/usage:/);
    }
    const unknown = await apikey(fleet.db.url, ['--revoke', randomUUID()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no API key/);
  });
});
