import { randomInt } from 'node:crypto';
import { isObj, type Obj } from './fake-signoz-envelope.ts';

/**
 * The fake's stand-in for SigNoz's v1 → v2 dashboard conversion (`pkg/types/dashboardtypes`
 * `perses_v1_to_v2*.go`, used by `POST /api/v2/dashboards` on v1 JSON, by `POST
 * /api/v2/dashboards/{id}/migrate` and by the upgrade migration 103). It keeps what a client can observe
 * and rely on: the generated DNS-label `name`, v1 tag strings turned into `{key, value}` pairs, the title
 * as `spec.display.name` (clipped to 128 characters), one Perses panel per placed widget keyed by the
 * widget id, and a grid layout whose items `$ref` those panels. The real converter fills in much more
 * (panel plugins' settings, v5 queries, variables' plugins); nothing a client sends depends on it.
 */

export const SCHEMA_VERSION = 'v6';
export const MAX_DISPLAY_NAME_LEN = 128;
export const MAX_TAGS = 10;

export interface V2Tag {
  key: string;
  value: string;
}

/** `generateDashboardName`: a DNS label from the title plus 8 random characters. */
export function generateDashboardName(displayName: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = Array.from({ length: 8 }, () => alphabet[randomInt(alphabet.length)]).join('');
  const prefix = displayName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - 1 - 8)
    .replace(/-+$/, '');
  return prefix === '' ? suffix : `${prefix}-${suffix}`;
}

/** `StorableDashboard.V1Name`: the name backfilled for a v1 dashboard. */
export const v1Name = (data: Obj) => generateDashboardName(typeof data.title === 'string' ? data.title : '');

/** `validateDashboardName`: Kubernetes' DNS-1123 label rules. */
export const isDnsLabel = (name: string) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63;

const clip = (s: string, limit: number) => [...s].slice(0, limit).join('');

/** `normalizeV1Tag`: `key:value`, `key/value`, or a lone value under the key `tag`. */
function v1Tag(raw: string): V2Tag | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  let key = '';
  let value = s;
  const separator = s.includes(':') ? ':' : s.includes('/') ? '/' : undefined;
  if (separator) {
    const at = s.indexOf(separator);
    key = s.slice(0, at).trim();
    value = s.slice(at + 1).trim();
  }
  const mold = (field: string, disallowed: RegExp) => field.replace(disallowed, '_').replace(/_+$/, '');
  key = mold(key, /[^a-zA-Z0-9$_@#{}:-]+/g);
  value = mold(value, /[^a-zA-Z0-9$_@#{}:.+=-]+/g);
  if (key === '' && value === '') return undefined;
  if (key === '' || value === '') return { key: 'tag', value: key || value };
  return { key, value };
}

export function v1Tags(raw: unknown): V2Tag[] {
  const seen = new Set<string>();
  const tags: V2Tag[] = [];
  for (const item of Array.isArray(raw) ? raw : []) {
    const tag = typeof item === 'string' ? v1Tag(item) : undefined;
    const dedup = tag && `${tag.key.toLowerCase()}\0${tag.value.toLowerCase()}`;
    if (!tag || !dedup || seen.has(dedup)) continue;
    seen.add(dedup);
    tags.push(tag);
  }
  return tags;
}

const PANEL_KINDS: Record<string, string> = {
  graph: 'signoz/TimeSeriesPanel',
  bar: 'signoz/BarChartPanel',
  value: 'signoz/NumberPanel',
  pie: 'signoz/PieChartPanel',
  table: 'signoz/TablePanel',
  histogram: 'signoz/HistogramPanel',
  list: 'signoz/ListPanel',
};

export interface Converted {
  name: string;
  image: string;
  tags: V2Tag[];
  spec: Obj;
}

/** `StorableDashboard.ConvertV1ToV2` in outline. */
export function convertV1ToV2(data: Obj): Converted {
  const title = typeof data.title === 'string' ? data.title : '';
  const layout = (Array.isArray(data.layout) ? data.layout : []).filter(isObj);
  const placed = new Set(layout.map((item) => String(item.i)));
  const widgets = (Array.isArray(data.widgets) ? data.widgets : []).filter(
    (w): w is Obj => isObj(w) && placed.has(String(w.id)),
  );
  const variables = Object.values(isObj(data.variables) ? data.variables : {})
    .filter(isObj)
    .sort((a, b) => Number(a.order ?? 0) - Number(b.order ?? 0));
  const spec = {
    display: {
      name: clip(title, MAX_DISPLAY_NAME_LEN),
      description: typeof data.description === 'string' ? data.description : '',
    },
    variables: variables.map((v) => ({
      kind: 'ListVariable',
      spec: {
        name: v.name,
        allowMultiple: v.multiSelect === true,
        allowAllValue: v.showALLOption === true,
        plugin: { kind: 'signoz/DynamicVariable', spec: { name: v.dynamicVariablesAttribute ?? '' } },
      },
    })),
    panels: Object.fromEntries(
      widgets.map((w) => [
        String(w.id),
        {
          kind: 'Panel',
          spec: {
            display: { name: String(w.title ?? ''), description: String(w.description ?? '') },
            plugin: { kind: PANEL_KINDS[String(w.panelTypes)] ?? 'signoz/TimeSeriesPanel', spec: {} },
            queries: [{ kind: 'TimeSeriesQuery', spec: { plugin: { kind: 'signoz/Query', spec: w.query } } }],
            links: [],
          },
        },
      ]),
    ),
    layouts: [
      {
        kind: 'Grid',
        spec: {
          items: layout.map((item) => ({
            x: item.x,
            y: item.y,
            width: item.w,
            height: item.h,
            content: { $ref: `#/spec/panels/${String(item.i)}` },
          })),
        },
      },
    ],
    duration: '1h',
    refreshInterval: '',
    links: [],
  };
  return {
    name: generateDashboardName(title),
    image: typeof data.image === 'string' ? data.image : '',
    tags: v1Tags(data.tags),
    spec,
  };
}

const SPEC_KEYS = new Set([
  'display',
  'variables',
  'panels',
  'layouts',
  'duration',
  'refreshInterval',
  'links',
]);

/** `DashboardSpec.UnmarshalJSON` + `Validate` in outline; a message for the first problem. */
export function specProblem(spec: unknown): string | undefined {
  if (!isObj(spec)) return 'invalid dashboard spec';
  const unknown = Object.keys(spec).find((key) => !SPEC_KEYS.has(key));
  if (unknown) return 'invalid dashboard spec';
  const display = isObj(spec.display) ? spec.display : undefined;
  if (!display || typeof display.name !== 'string' || display.name === '') {
    return 'spec.display.name is required';
  }
  if ([...display.name].length > MAX_DISPLAY_NAME_LEN) {
    return `spec.display.name cannot be longer than ${MAX_DISPLAY_NAME_LEN} characters`;
  }
  if (!Array.isArray(spec.variables) || !isObj(spec.panels) || !Array.isArray(spec.layouts)) {
    return 'invalid dashboard spec';
  }
  const panels = spec.panels;
  for (const layout of spec.layouts.filter(isObj)) {
    const items = isObj(layout.spec) && Array.isArray(layout.spec.items) ? layout.spec.items : [];
    for (const item of items.filter(isObj)) {
      const ref = isObj(item.content) ? String(item.content.$ref ?? '') : '';
      const key = ref.replace(/^#\/spec\/panels\//, '');
      if (!(key in panels)) return `layout item references unknown panel "${ref}"`;
    }
  }
  return undefined;
}
