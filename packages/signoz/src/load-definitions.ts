import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { type AlertRule, alertRuleSchema } from './alert-schema.ts';
import { type Dashboard, dashboardSchema } from './dashboard-schema.ts';
import { alertProblems, dashboardProblems, type MetricCatalogue } from './references.ts';

/** What the provisioner can send: dashboards and alert rules, each validated, with the file it came from. */
export type DefinitionKind = 'dashboard' | 'alert';

export interface Definition<T> {
  kind: DefinitionKind;
  /** Path relative to the definitions directory, for messages (`dashboards/fleet-overview.json`). */
  file: string;
  /** The dashboard title or alert name: what SigNoz items are matched by. */
  name: string;
  /** The file's JSON exactly as written: this is what is sent. */
  body: Record<string, unknown>;
  parsed: T;
}

export interface Definitions {
  dashboards: Definition<Dashboard>[];
  alerts: Definition<AlertRule>[];
  /** One line per problem, each starting with the file; empty when everything may be sent. */
  problems: string[];
}

export interface LoadOptions {
  /** The directory holding `dashboards/` and `alerts/` (the repository's `signoz/`). */
  dir: string;
  catalogue: MetricCatalogue;
  only?: 'dashboards' | 'alerts' | undefined;
}

/** `widgets[3].query.builder.queryData[0].aggregateAttribute.key` from a zod issue path. */
export function formatIssuePath(issuePath: readonly PropertyKey[]): string {
  return issuePath
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

async function jsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function loadKind<T>(
  options: LoadOptions,
  sub: 'dashboards' | 'alerts',
  kind: DefinitionKind,
  schema: z.ZodType<T>,
  nameOf: (parsed: T) => string,
  check: (parsed: T, catalogue: MetricCatalogue) => string[],
  problems: string[],
): Promise<Definition<T>[]> {
  const definitions: Definition<T>[] = [];
  const dir = path.join(options.dir, sub);
  const files = await jsonFiles(dir);
  if (files.length === 0) problems.push(`${sub}/: no .json files in ${dir}`);
  for (const name of files) {
    const file = `${sub}/${name}`;
    let body: unknown;
    try {
      body = JSON.parse(await readFile(path.join(dir, name), 'utf8'));
    } catch (error) {
      problems.push(`${file}: not valid JSON: ${(error as Error).message}`);
      continue;
    }
    const result = schema.safeParse(body);
    if (!result.success) {
      for (const issue of result.error.issues) {
        problems.push(`${file}: ${formatIssuePath(issue.path) || '(root)'}: ${issue.message}`);
      }
      continue;
    }
    for (const problem of check(result.data, options.catalogue)) problems.push(`${file}: ${problem}`);
    definitions.push({
      kind,
      file,
      name: nameOf(result.data),
      body: body as Record<string, unknown>,
      parsed: result.data,
    });
  }
  const byName = new Map<string, string[]>();
  for (const definition of definitions) {
    byName.set(definition.name, [...(byName.get(definition.name) ?? []), definition.file]);
  }
  for (const [name, files] of byName) {
    if (files.length > 1) {
      problems.push(`${files.join(', ')}: all named "${name}"; SigNoz items are matched by name`);
    }
  }
  return definitions;
}

/**
 * Reads and checks every definition before anything is sent: JSON syntax, the import format (zod), the
 * metric catalogue, and unique names. The caller refuses to provision while `problems` is not empty.
 */
export async function loadDefinitions(options: LoadOptions): Promise<Definitions> {
  const problems: string[] = [];
  const dashboards =
    options.only === 'alerts'
      ? []
      : await loadKind(
          options,
          'dashboards',
          'dashboard',
          dashboardSchema,
          (d) => d.title,
          dashboardProblems,
          problems,
        );
  const alerts =
    options.only === 'dashboards'
      ? []
      : await loadKind(options, 'alerts', 'alert', alertRuleSchema, (a) => a.alert, alertProblems, problems);
  return { dashboards, alerts, problems };
}
