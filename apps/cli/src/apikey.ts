import { parseArgs } from 'node:util';
import { ApiKeyStore, type ApiKeySummary } from '@flowtrace/api';
import { createDatabase } from '@flowtrace/db';
import { z } from 'zod';

const USAGE = `usage:
  npm run apikey -- --tenant <name> [--label <text>] [--json]   create a key (printed once)
  npm run apikey -- --list --tenant <name> [--json]               list a tenant's keys (never the keys themselves)
  npm run apikey -- --revoke <key id> [--tenant <name>] [--json]  revoke a key: the API answers 401 for it
                                                                   within API_KEY_CACHE_TTL_MS`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let values: { tenant?: string; label?: string; json?: boolean; list?: boolean; revoke?: string };
try {
  ({ values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      label: { type: 'string' },
      json: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      revoke: { type: 'string' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.list && values.revoke !== undefined) fail('--list and --revoke do not go together');
if (values.revoke !== undefined && !z.uuid().safeParse(values.revoke).success) {
  fail(`--revoke takes a key id (a UUID, as --list shows it), not "${values.revoke}"`);
}
if (values.revoke === undefined && !values.tenant) fail('name a tenant with --tenant');
if (values.label !== undefined && (values.list || values.revoke !== undefined)) {
  fail('--label applies only when creating a key');
}

const env = z
  .object({ DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/flowtrace') })
  .parse(process.env);
const database = createDatabase({ url: env.DATABASE_URL, maxConnections: 1, prepare: false });
const keys = new ApiKeyStore({ sql: database.sql });

const describeKey = (key: ApiKeySummary) =>
  [
    key.apiKeyId,
    `ft_${key.prefix}_…`,
    key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active',
    `created ${key.createdAt.toISOString()}`,
    key.label ?? '',
  ]
    .join('  ')
    .trimEnd();

try {
  if (values.list) {
    const listed = await keys.list(values.tenant as string);
    if (values.json) console.log(JSON.stringify(listed));
    else if (listed.length === 0) console.log(`tenant "${values.tenant}" has no API keys`);
    else console.log(`API keys of tenant "${values.tenant}":\n\n${listed.map(describeKey).join('\n')}`);
  } else if (values.revoke !== undefined) {
    const revoked = await keys.revoke(values.revoke, values.tenant ? { tenantName: values.tenant } : {});
    if (!revoked) {
      console.error(
        `no API key ${values.revoke}${values.tenant ? ` of tenant "${values.tenant}"` : ''}; list keys with --list`,
      );
      process.exitCode = 1;
    } else if (values.json) {
      console.log(JSON.stringify(revoked));
    } else {
      console.log(
        `revoked ${describeKey(revoked)} (tenant "${revoked.tenantName}"): API processes refuse it (401) ` +
          'once their key cache expires (API_KEY_CACHE_TTL_MS)',
      );
    }
  } else {
    const created = await keys.create(values.tenant as string, values.label);
    if (values.json) {
      console.log(
        JSON.stringify({ key: created.key, tenantId: created.tenantId, apiKeyId: created.apiKeyId }),
      );
    } else {
      console.log(
        `API key for tenant "${created.tenantName}" (shown once, store it now):\n\n  ${created.key}\n\n` +
          `key id ${created.apiKeyId} (for --revoke)`,
      );
    }
  }
} finally {
  await database.close();
}
