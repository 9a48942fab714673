import { z } from 'zod';

/**
 * The dashboard JSON that SigNoz's UI imports ("Import JSON") and its API creates from (`POST
 * /api/v1/dashboards` before v0.135, `POST /api/v2/dashboards` from it, which converts it): the v1
 * dashboard format `{title, description, tags, variables, layout, widgets}` as exported from the UI and
 * kept in the `SigNoz/dashboards` repository. Only the fields we rely on are described; SigNoz ignores and
 * keeps the rest, and unknown keys are sent as written.
 *
 * Each builder query carries both query-builder generations, as SigNoz's own exports do: the v4 fields
 * (`aggregateAttribute`, `timeAggregation`, `spaceAggregation`, `filters.items`) and the v5 fields
 * (`aggregations`, `filter.expression`) that the current UI sends to `/api/v5/query_range` first and
 * falls back from (frontend `prepareQueryRangePayloadV5.ts` `createAggregation`/`getFilter`).
 * `references.ts` checks that the two agree.
 */

/** A time aggregation for metrics; `''` is what SigNoz writes for histogram percentiles. */
export const timeAggregationSchema = z.enum([
  '',
  'latest',
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'count_distinct',
  'rate',
  'increase',
]);
export const spaceAggregationSchema = z.enum([
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'p50',
  'p75',
  'p90',
  'p95',
  'p99',
]);
export const reduceToSchema = z.enum(['last', 'sum', 'avg', 'min', 'max']);

/** An attribute reference as the v4 builder writes it (`groupBy[]`, `filters.items[].key`). */
export const attributeKeySchema = z.object({
  key: z.string().min(1),
  dataType: z.string(),
  type: z.enum(['tag', 'resource', '']),
  id: z.string().optional(),
  isColumn: z.boolean().optional(),
  isJSON: z.boolean().optional(),
});

/** The metric a v4 builder query aggregates; `type` is SigNoz's metric type. */
export const metricAttributeSchema = z.object({
  key: z.string().min(1),
  dataType: z.string(),
  type: z.enum(['Sum', 'Gauge', 'Histogram', 'ExponentialHistogram', 'Summary']),
  id: z.string().optional(),
  isColumn: z.boolean().optional(),
  isJSON: z.boolean().optional(),
});

export const filterItemSchema = z.object({
  id: z.string().optional(),
  key: attributeKeySchema,
  op: z.enum(['=', '!=', 'in', 'nin', 'exists', 'nexists']),
  value: z.union([z.string(), z.array(z.string())]),
});

export const metricAggregationSchema = z.object({
  metricName: z.string().min(1),
  timeAggregation: timeAggregationSchema,
  spaceAggregation: spaceAggregationSchema,
  reduceTo: reduceToSchema.optional(),
});

export const builderQuerySchema = z.object({
  queryName: z.string().regex(/^[A-Z]$/, 'a single capital letter'),
  dataSource: z.literal('metrics'),
  expression: z.string().min(1),
  disabled: z.boolean(),
  aggregateOperator: z.string().min(1),
  aggregateAttribute: metricAttributeSchema,
  timeAggregation: timeAggregationSchema,
  spaceAggregation: spaceAggregationSchema,
  aggregations: z.array(metricAggregationSchema).length(1),
  filters: z.object({ items: z.array(filterItemSchema), op: z.enum(['AND', 'OR']) }),
  filter: z.object({ expression: z.string() }),
  groupBy: z.array(attributeKeySchema),
  legend: z.string(),
  stepInterval: z.number().int().positive().nullable(),
  reduceTo: reduceToSchema.optional(),
  functions: z.array(z.unknown()).optional(),
  limit: z.number().int().positive().nullable().optional(),
  orderBy: z.array(z.unknown()).optional(),
});

export const builderFormulaSchema = z.object({
  queryName: z.string().regex(/^F\d+$/, 'F followed by a number'),
  expression: z.string().min(1),
  disabled: z.boolean(),
  legend: z.string(),
});

export const panelTypeSchema = z.enum(['graph', 'value', 'table', 'bar', 'pie', 'list', 'histogram']);

export const widgetSchema = z.object({
  id: z.string().min(1),
  title: z.string().min(1),
  description: z.string().optional(),
  panelTypes: panelTypeSchema,
  yAxisUnit: z.string().optional(),
  query: z.object({
    id: z.string().min(1),
    queryType: z.literal('builder'),
    builder: z.object({
      queryData: z.array(builderQuerySchema).min(1),
      queryFormulas: z.array(builderFormulaSchema),
    }),
    promql: z.array(z.unknown()).optional(),
    clickhouse_sql: z.array(z.unknown()).optional(),
  }),
});

export const layoutItemSchema = z
  .object({
    i: z.string().min(1),
    x: z.number().int().min(0),
    y: z.number().int().min(0),
    w: z.number().int().min(1).max(12),
    h: z.number().int().min(1),
  })
  .refine((item) => item.x + item.w <= 12, { message: 'x + w exceeds the 12-column grid' });

export const variableSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name usable as $name in a filter'),
    description: z.string().optional(),
    type: z.enum(['DYNAMIC', 'QUERY', 'CUSTOM', 'TEXTBOX']),
    dynamicVariablesAttribute: z.string().optional(),
    dynamicVariablesSource: z.string().optional(),
    multiSelect: z.boolean(),
    showALLOption: z.boolean(),
    allSelected: z.boolean().optional(),
    order: z.number().int().min(0),
  })
  .refine((v) => v.type !== 'DYNAMIC' || Boolean(v.dynamicVariablesAttribute), {
    message: 'a DYNAMIC variable needs dynamicVariablesAttribute',
    path: ['dynamicVariablesAttribute'],
  });

/**
 * SigNoz v0.135+ (`POST /api/v2/dashboards`) converts a body to its v2 format when it has `version` and no
 * `schemaVersion`, keeps 128 characters of the title (`MaxDisplayNameLen`) and at most 10 tags
 * (`MaxTagsPerDashboard`); older releases store the v1 JSON as it is.
 */
export const dashboardSchema = z
  .object({
    title: z.string().min(1).max(128, 'SigNoz keeps at most 128 characters of a dashboard title'),
    description: z.string(),
    tags: z.array(z.string()).max(10, 'SigNoz allows at most 10 tags on a dashboard'),
    version: z.literal('v5', 'must be "v5": the queries carry the v5 query-builder fields'),
    variables: z.record(z.string(), variableSchema),
    layout: z.array(layoutItemSchema).min(1),
    widgets: z.array(widgetSchema).min(1),
  })
  .loose()
  .refine((d) => !('schemaVersion' in d), {
    message: 'a v1 dashboard has no schemaVersion (SigNoz would read the file as a v2 dashboard)',
    path: ['schemaVersion'],
  });

export type Dashboard = z.infer<typeof dashboardSchema>;
export type DashboardWidget = z.infer<typeof widgetSchema>;
export type BuilderQuery = z.infer<typeof builderQuerySchema>;
export type FilterItem = z.infer<typeof filterItemSchema>;
