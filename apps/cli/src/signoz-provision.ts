import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ItemResult, loadDefinitions, provision, SignozClient } from '@flowtrace/signoz';
import { METRICS } from '@flowtrace/telemetry';
import { parseSignozConfig } from './signoz-config.ts';

/**
 * `npm run signoz:provision [-- --dry-run] [--only dashboards|alerts] [--dir <signoz dir>]`: creates or
 * updates the dashboards in signoz/dashboards and the alert rules in signoz/alerts through SigNoz's API
 * (SIGNOZ_URL, SIGNOZ_API_KEY); dashboards through the v1 or v2 API by SigNoz's version. Every file is
 * checked first; nothing is sent while one has a problem.
 */
const usage = 'usage: npm run signoz:provision -- [--dry-run] [--only dashboards|alerts] [--dir <path>]';
let values: { 'dry-run': boolean; only?: string; dir?: string; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      only: { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (values.only !== undefined && values.only !== 'dashboards' && values.only !== 'alerts') {
  console.error(`--only takes dashboards or alerts, not "${values.only}"\n${usage}`);
  process.exit(2);
}
const only = values.only;
const dryRun = values['dry-run'];

const env = parseSignozConfig(process.env, { dryRun });
if (!env.ok) {
  for (const problem of env.problems) console.error(`signoz: ${problem}`);
  process.exit(2);
}
const dir = path.resolve(values.dir ?? path.join(import.meta.dirname, '../../../signoz'));
const definitions = await loadDefinitions({ dir, catalogue: METRICS, only });
if (definitions.problems.length > 0) {
  console.error(`signoz: nothing sent; ${definitions.problems.length} problem(s) in ${dir}:`);
  for (const problem of definitions.problems) console.error(`  ${problem}`);
  process.exit(1);
}
const all = [...definitions.dashboards, ...definitions.alerts];

if (dryRun) {
  for (const d of all) console.log(`valid      ${d.kind.padEnd(9)} "${d.name}" (${d.file})`);
  console.log(`signoz: dry run, ${all.length} definition(s) valid, nothing sent`);
  process.exit(0);
}

const { SIGNOZ_URL, SIGNOZ_API_KEY, SIGNOZ_ALERT_CHANNELS } = env.config;
const signoz = new SignozClient({ baseUrl: SIGNOZ_URL ?? '', apiKey: SIGNOZ_API_KEY ?? '' });
const line = (r: ItemResult) =>
  `${r.action.padEnd(10)} ${r.kind.padEnd(9)} "${r.name}" (${r.file})` +
  (r.id ? ` id=${r.id}` : '') +
  (r.error ? `: ${r.error}` : '');
const report = await provision(
  definitions,
  { alertChannels: SIGNOZ_ALERT_CHANNELS },
  {
    signoz,
    onItem: (r) => (r.action === 'failed' ? console.error(line(r)) : console.log(line(r))),
    onDashboardApi: (choice) =>
      console.log(`signoz: ${choice.reason}: dashboards through /api/${choice.api}/dashboards`),
  },
);
const count = (action: ItemResult['action']) => report.items.filter((r) => r.action === action).length;
if (report.fatal) {
  console.error(`signoz: ${report.fatal}`);
  console.error(
    `signoz: stopped; ${all.length - report.items.length} of ${all.length} definition(s) not sent`,
  );
}
console.log(
  `signoz: ${SIGNOZ_URL}: ${count('created')} created, ${count('updated')} updated, ${count('failed')} failed` +
    (report.fatal ? `, ${all.length - report.items.length} not attempted` : ''),
);
process.exitCode = report.ok ? 0 : 1;
