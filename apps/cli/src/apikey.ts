import { parseArgs } from 'node:util';
import { ApiKeyStore } from '@flowtrace/api';
import { createDatabase } from '@flowtrace/db';
import { z } from 'zod';

/** `npm run apikey -- --tenant <name> [--label <text>]`: creates an API key and prints it once. */
const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    label: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.tenant) {
  console.error('usage: npm run apikey -- --tenant <name> [--label <text>] [--json]');
  process.exit(2);
}
const env = z
  .object({ DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/flowtrace') })
  .parse(process.env);
const database = createDatabase({ url: env.DATABASE_URL, maxConnections: 1, prepare: false });
try {
  const created = await new ApiKeyStore({ sql: database.sql }).create(values.tenant, values.label);
  if (values.json) {
    console.log(JSON.stringify({ key: created.key, tenantId: created.tenantId, apiKeyId: created.apiKeyId }));
  } else {
    console.log(
      `API key for tenant "${created.tenantName}" (shown once, store it now):\n\n  ${created.key}\n`,
    );
  }
} finally {
  await database.close();
}
