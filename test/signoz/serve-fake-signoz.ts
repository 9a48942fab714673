import { parseArgs } from 'node:util';
import { isV2, startFakeSignoz, titleOf } from './fake-signoz.ts';

/**
 * Serves the fake SigNoz on loopback until interrupted, to run `npm run signoz:provision` by hand against
 * a given release's behaviour:
 *
 *   node test/signoz/serve-fake-signoz.ts --release v0.138.0     # prints SIGNOZ_URL and SIGNOZ_API_KEY
 *   SIGNOZ_URL=… SIGNOZ_API_KEY=… npm run signoz:provision
 *
 * On SIGINT/SIGTERM it prints what it holds (dashboards by title, id and schema; rules by name and id).
 */
const { values } = parseArgs({
  options: {
    release: { type: 'string', default: 'v0.138.0' },
    'api-key': { type: 'string', default: 'fake-signoz-key' },
  },
});
const apiKey = values['api-key'];
const signoz = await startFakeSignoz({ apiKey, release: values.release });
console.log(`fake SigNoz ${signoz.release} listening`);
console.log(`SIGNOZ_URL=${signoz.url} SIGNOZ_API_KEY=${apiKey}`);

async function stop() {
  console.log(`holds ${signoz.dashboards.length} dashboard(s), ${signoz.rules.length} rule(s):`);
  for (const d of signoz.dashboards) {
    console.log(`  dashboard ${d.id} ${isV2(d) ? 'v2' : 'v1'} "${titleOf(d)}"`);
  }
  for (const r of signoz.rules) console.log(`  rule      ${r.id} "${String(r.rule.alert)}"`);
  const byRoute = new Map<string, number>();
  for (const c of signoz.calls) {
    const route = `${c.method} ${c.path.replace(/\?.*/, '').replace(/[0-9a-f-]{36}/g, '{id}')}`;
    byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
  }
  console.log('calls:');
  for (const [route, count] of byRoute) console.log(`  ${String(count).padStart(3)} ${route}`);
  await signoz.close();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
