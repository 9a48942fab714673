import type { AlertRule } from './alert-schema.ts';
import type { DashboardApi } from './dashboard-api.ts';
import type { Definition, DefinitionKind, Definitions } from './load-definitions.ts';
import { type SignozApi, SignozError, type SignozItem } from './signoz-client.ts';
import type { DashboardApiChoice } from './signoz-version.ts';

/**
 * Creates or updates every definition in SigNoz. Idempotent: it lists what exists first and updates the
 * dashboard with the same title or the rule with the same alert name instead of creating another; two
 * existing items with one name are reported, not guessed between. Dashboards go through the API this
 * SigNoz speaks (v1 before v0.135, v2 from it; signoz-version.ts). An unreachable SigNoz or a refused API
 * key stops the run; any other failure fails its item and the run goes on.
 */
export type ItemAction = 'created' | 'updated' | 'failed';

export interface ItemResult {
  kind: DefinitionKind;
  name: string;
  file: string;
  action: ItemAction;
  id?: string | undefined;
  error?: string;
}

export interface ProvisionReport {
  items: ItemResult[];
  /** Set when the run stopped early (SigNoz unreachable, API key refused). */
  fatal?: string;
  ok: boolean;
}

export interface ProvisionOptions {
  /** Notification channels for alert thresholds that name none (`SIGNOZ_ALERT_CHANNELS`). */
  alertChannels?: readonly string[];
}

export interface ProvisionDeps {
  signoz: SignozApi;
  /** Called with each item's result as it completes. */
  onItem?: (result: ItemResult) => void;
  /** Called once the dashboard API is chosen, before the first dashboard is sent. */
  onDashboardApi?: (choice: DashboardApiChoice) => void;
}

/** The rule body to send: the file's JSON, with default channels on thresholds that name none. */
export function ruleBody(
  definition: Definition<AlertRule>,
  channels: readonly string[],
): Record<string, unknown> {
  if (channels.length === 0) return definition.body;
  const body = structuredClone(definition.body) as { condition: AlertRule['condition'] };
  for (const threshold of body.condition.thresholds.spec) {
    if (threshold.channels.length === 0) threshold.channels = [...channels];
  }
  return body;
}

interface KindApi<T, Item extends SignozItem> {
  list(): Promise<Item[]>;
  create(definition: Definition<T>): Promise<{ id: string | undefined }>;
  update(existing: Item, definition: Definition<T>): Promise<void>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function provisionKind<T, Item extends SignozItem>(
  definitions: readonly Definition<T>[],
  api: KindApi<T, Item>,
  record: (result: ItemResult) => void,
): Promise<void> {
  if (definitions.length === 0) return;
  let existing: Item[];
  try {
    existing = await api.list();
  } catch (error) {
    if (error instanceof SignozError && error.fatal) throw error;
    for (const d of definitions) {
      record({
        kind: d.kind,
        name: d.name,
        file: d.file,
        action: 'failed',
        error: `listing failed: ${message(error)}`,
      });
    }
    return;
  }
  for (const definition of definitions) {
    const { kind, name, file } = definition;
    const matches = existing.filter((item) => item.name === name);
    try {
      if (matches.length > 1) {
        record({
          kind,
          name,
          file,
          action: 'failed',
          error: `SigNoz has ${matches.length} ${kind}s named "${name}" (ids ${matches.map((m) => m.id).join(', ')}); delete all but one`,
        });
      } else if (matches[0]) {
        await api.update(matches[0], definition);
        record({ kind, name, file, action: 'updated', id: matches[0].id });
      } else {
        const { id } = await api.create(definition);
        // Known by id and name only: enough to refuse a second definition of the same name.
        if (id !== undefined) existing.push({ id, name } as Item);
        record({ kind, name, file, action: 'created', id });
      }
    } catch (error) {
      if (error instanceof SignozError && error.fatal) throw error;
      record({ kind, name, file, action: 'failed', error: message(error) });
    }
  }
}

export async function provision(
  definitions: Pick<Definitions, 'dashboards' | 'alerts'>,
  options: ProvisionOptions,
  deps: ProvisionDeps,
): Promise<ProvisionReport> {
  const items: ItemResult[] = [];
  const record = (result: ItemResult) => {
    items.push(result);
    deps.onItem?.(result);
  };
  const { signoz } = deps;
  const channels = options.alertChannels ?? [];
  try {
    let dashboards: DashboardApi | undefined;
    const dashboardApi = async () => {
      if (dashboards === undefined) {
        dashboards = await signoz.dashboards();
        deps.onDashboardApi?.(dashboards.choice);
      }
      return dashboards;
    };
    await provisionKind(
      definitions.dashboards,
      {
        list: async () => (await dashboardApi()).list(),
        create: async (d) => (await dashboardApi()).create(d.body),
        update: async (existing, d) => (await dashboardApi()).update(existing, d.body),
      },
      record,
    );
    await provisionKind(
      definitions.alerts,
      {
        list: () => signoz.listRules(),
        create: (d) => signoz.createRule(ruleBody(d, channels)),
        update: (existing, d) => signoz.updateRule(existing.id, ruleBody(d, channels)),
      },
      record,
    );
  } catch (error) {
    return { items, fatal: message(error), ok: false };
  }
  return { items, ok: items.every((item) => item.action !== 'failed') };
}
