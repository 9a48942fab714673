import { parseArgs } from 'node:util';
import { createDatabase, type Sql } from '@flowtrace/db';
import {
  LIMIT_NAMES,
  type LimitName,
  ModelPriceStore,
  SpendLedger,
  TenantLimitsStore,
  tenantLimitsSchema,
  USAGE_DIMENSIONS,
  type UsageDimension,
  UsageReport,
} from '@flowtrace/engine';
import { z } from 'zod';

const USAGE = `usage:
  npm run tenant -- show <tenant>                      limits (operator's, tenant's own, in effect) and usage
  npm run tenant -- limits <tenant> [--<limit> <n|none>]... [--clear]
                                                        set the operator's limits (a ceiling the tenant cannot lift)
  npm run tenant -- usage <tenant> [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by day,workflow,provider,model]
  npm run tenant -- prices                             list the database's dated model prices
  npm run tenant -- price --provider <p> --model <m> --input <usd/1M> --output <usd/1M> --from <date>
                          [--cached-input <usd/1M>] [--cache-write <usd/1M>] [--reasoning <usd/1M>] [--match prefix]
limits: ${LIMIT_NAMES.map(flagOf)
  .map((f) => `--${f}`)
  .join(', ')}
<tenant> is a tenant name (as given to npm run apikey) or id; add --json for machine-readable output.`;

function flagOf(name: LimitName): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        ...Object.fromEntries(LIMIT_NAMES.map((name) => [flagOf(name), { type: 'string' as const }])),
        clear: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        from: { type: 'string' },
        to: { type: 'string' },
        'group-by': { type: 'string' },
        provider: { type: 'string' },
        model: { type: 'string' },
        match: { type: 'string' },
        input: { type: 'string' },
        output: { type: 'string' },
        'cached-input': { type: 'string' },
        'cache-write': { type: 'string' },
        reasoning: { type: 'string' },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
}
const { values, positionals } = parseCommandLine();

const [command, tenantArg] = positionals;
if (!command) fail('name a command');
const env = z
  .object({ DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/flowtrace') })
  .parse(process.env);
const database = createDatabase({ url: env.DATABASE_URL, maxConnections: 2, prepare: false });
const print = (human: string, json: unknown) =>
  console.log(values.json ? JSON.stringify(json, null, 2) : human);

async function tenantId(sql: Sql): Promise<{ id: string; name: string }> {
  if (!tenantArg) fail(`${command} needs a tenant`);
  const isId = /^[0-9a-f-]{36}$/i.test(tenantArg);
  const [row] = await sql<{ id: string; name: string }[]>`
    select id, name from tenants where ${isId ? sql`id = ${tenantArg}::uuid` : sql`name = ${tenantArg}`}`;
  if (!row) fail(`no tenant "${tenantArg}" (create it with npm run apikey -- --tenant <name>)`);
  return row;
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) fail(`--${flag} must be a non-negative number, not "${value}"`);
  return n;
}

try {
  const sql = database.sql;
  const limits = new TenantLimitsStore({ sql }, { cacheTtlMs: 0 });
  switch (command) {
    case 'show': {
      const tenant = await tenantId(sql);
      const view = await limits.read(tenant.id);
      const usage = await new SpendLedger({ sql }).usage(tenant.id);
      const rows = LIMIT_NAMES.map(
        (n) =>
          `  ${n.padEnd(18)} ${String(view.effective[n] ?? '-').padEnd(12)} operator ${view.operator[n] ?? '-'}, tenant ${view.tenant[n] ?? '-'}`,
      );
      print(
        `tenant ${tenant.name} (${tenant.id})\nlimits in effect:\n${rows.join('\n')}\nusage: today $${usage.daySpendUsd} and ${usage.dayTokens} tokens; this month $${usage.monthSpendUsd} and ${usage.monthTokens} tokens`,
        { tenantId: tenant.id, tenantName: tenant.name, ...view, usage },
      );
      break;
    }
    case 'limits': {
      const tenant = await tenantId(sql);
      const current = (await limits.read(tenant.id)).operator;
      const next: Record<string, number | null> = values.clear ? {} : { ...current };
      for (const name of LIMIT_NAMES) {
        const raw = values[flagOf(name) as keyof typeof values];
        if (typeof raw !== 'string') continue;
        next[name] = raw === 'none' ? null : (number(flagOf(name), raw) as number);
      }
      const parsed = tenantLimitsSchema.safeParse(next);
      if (!parsed.success)
        fail(
          `invalid limits: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      const view = await limits.set(tenant.id, 'operator', parsed.data);
      print(`operator limits of ${tenant.name} set; in effect: ${JSON.stringify(view.effective)}`, view);
      break;
    }
    case 'usage': {
      const tenant = await tenantId(sql);
      const to = values.to ?? new Date().toISOString().slice(0, 10);
      const from =
        values.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
      const groupBy = (values['group-by']?.split(',').map((s) => s.trim()) ?? [
        ...USAGE_DIMENSIONS,
      ]) as UsageDimension[];
      const unknown = groupBy.filter((d) => !(USAGE_DIMENSIONS as readonly string[]).includes(d));
      if (unknown.length > 0) fail(`--group-by: unknown ${unknown.join(', ')}`);
      const report = await new UsageReport({ sql }).query({
        tenantId: tenant.id,
        from,
        to,
        groupBy,
        limit: 10_000,
      });
      const lines = report.rows.map((r) =>
        [
          r.day,
          r.workflowName ?? (groupBy.includes('workflow') ? '(ingestion)' : undefined),
          r.provider,
          r.model,
        ]
          .filter((v) => v !== undefined)
          .concat([`${r.calls} calls`, `${r.inputTokens}+${r.outputTokens} tokens`, `$${r.costUsd}`])
          .join('  '),
      );
      print(
        `${lines.join('\n') || 'no model calls'}\ntotal ${from}..${to}: ${report.totals.calls} calls, $${report.totals.costUsd}`,
        { tenant, from, to, groupBy, ...report },
      );
      break;
    }
    case 'prices': {
      const prices = await new ModelPriceStore({ sql }).list();
      print(
        prices
          .map(
            (p) =>
              `${p.provider} ${p.model} (${p.match}) from ${p.effectiveFrom}: in $${p.input}, out $${p.output} per 1M`,
          )
          .join('\n') || 'no database prices (built-in and FLOWTRACE_PRICING apply)',
        prices,
      );
      break;
    }
    case 'price': {
      if (!values.provider || !values.model || !values.from)
        fail('price needs --provider, --model, --input, --output and --from');
      const effectiveFrom = new Date(values.from);
      if (Number.isNaN(effectiveFrom.getTime()))
        fail(`--from must be a date or timestamp, not "${values.from}"`);
      const input = number('input', values.input);
      const output = number('output', values.output);
      if (input === undefined || output === undefined)
        fail('price needs --input and --output (USD per 1M tokens)');
      if (values.match !== undefined && values.match !== 'exact' && values.match !== 'prefix')
        fail('--match is exact or prefix');
      const cachedInput = number('cached-input', values['cached-input']);
      const cacheWrite = number('cache-write', values['cache-write']);
      const reasoning = number('reasoning', values.reasoning);
      const added = await new ModelPriceStore({ sql }).add({
        provider: values.provider,
        model: values.model,
        match: values.match === 'prefix' ? 'prefix' : 'exact',
        input,
        output,
        cachedInput,
        cacheWrite,
        reasoning,
        effectiveFrom: effectiveFrom.toISOString(),
      });
      if (!added)
        fail(
          `${values.provider} ${values.model} already has a price from ${effectiveFrom.toISOString()}; prices are never changed, add one with a later --from`,
        );
      print(
        `added: ${values.provider} ${values.model} from ${effectiveFrom.toISOString()} (workers pick it up within a minute)`,
        { added },
      );
      break;
    }
    default:
      fail(`unknown command "${command}"`);
  }
} finally {
  await database.close();
}
