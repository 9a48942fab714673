import { z } from 'zod';
import { metricAggregationSchema } from './dashboard-schema.ts';

/**
 * An alert rule as `POST /api/v2/rules` takes it: SigNoz's `PostableRule` with `schemaVersion: "v2alpha1"`
 * (thresholds, evaluation and notification settings as objects) and `version: "v5"` (query-builder v5
 * envelopes in `condition.compositeQuery.queries`). That is the shape of the request examples SigNoz
 * attaches to the v2 rule endpoints (`pkg/apiserver/signozapiserver/ruler_examples.go`); the older
 * schema (`schemaVersion` "v1": `condition.op/target/matchType`, top-level `evalWindow`/`frequency`,
 * `compositeQuery.builderQueries`) is still accepted by SigNoz but converted on the way in.
 */

export const groupByKeySchema = z.object({
  name: z.string().min(1),
  fieldContext: z.enum(['resource', 'attribute']),
  fieldDataType: z.literal('string'),
});

export const ruleBuilderQuerySchema = z.object({
  type: z.literal('builder_query'),
  spec: z.object({
    name: z.string().regex(/^[A-Z]$/, 'a single capital letter'),
    signal: z.literal('metrics'),
    stepInterval: z.number().int().positive(),
    disabled: z.boolean().optional(),
    aggregations: z.array(metricAggregationSchema).length(1),
    filter: z.object({ expression: z.string() }),
    groupBy: z.array(groupByKeySchema),
    legend: z.string().optional(),
  }),
});

export const ruleFormulaSchema = z.object({
  type: z.literal('builder_formula'),
  spec: z.object({
    name: z.string().regex(/^F\d+$/, 'F followed by a number'),
    expression: z.string().min(1),
    legend: z.string().optional(),
    disabled: z.boolean().optional(),
  }),
});

/** Go duration strings as SigNoz parses them (`5m`, `1h`, `1m30s`). */
const durationSchema = z
  .string()
  .regex(/^(\d+h)?(\d+m)?(\d+s)?$/, 'a duration such as 5m or 1h')
  .min(2);

export const thresholdSchema = z.object({
  /** Becomes the alert's `severity` label (lower-cased) and names the notification route. */
  name: z.enum(['critical', 'error', 'warning', 'info']),
  op: z.enum(['above', 'below', 'equal', 'not_equal']),
  matchType: z.enum(['all_the_times', 'on_average', 'in_total', 'last']),
  target: z.number(),
  targetUnit: z.string().optional(),
  /** Notification channel names; `SIGNOZ_ALERT_CHANNELS` fills them in at provisioning when empty. */
  channels: z.array(z.string()),
});

export const alertRuleSchema = z.object({
  alert: z.string().min(1),
  alertType: z.literal('METRIC_BASED_ALERT'),
  description: z.string().min(1),
  ruleType: z.literal('threshold_rule'),
  version: z.literal('v5'),
  schemaVersion: z.literal('v2alpha1'),
  disabled: z.boolean().optional(),
  condition: z.object({
    compositeQuery: z.object({
      queryType: z.literal('builder'),
      panelType: z.literal('graph'),
      unit: z.string().optional(),
      queries: z.array(z.discriminatedUnion('type', [ruleBuilderQuerySchema, ruleFormulaSchema])).min(1),
    }),
    selectedQueryName: z.string().min(1),
    thresholds: z.object({ kind: z.literal('basic'), spec: z.array(thresholdSchema).min(1) }),
  }),
  evaluation: z.object({
    kind: z.literal('rolling'),
    spec: z.object({ evalWindow: durationSchema, frequency: durationSchema }),
  }),
  notificationSettings: z
    .object({
      groupBy: z.array(z.string()).optional(),
      renotify: z
        .object({
          enabled: z.boolean(),
          interval: durationSchema.optional(),
          alertStates: z.array(z.enum(['firing', 'nodata'])).optional(),
        })
        .optional(),
    })
    .optional(),
  labels: z.object({ severity: z.enum(['critical', 'error', 'warning', 'info']) }).catchall(z.string()),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }),
});

export type AlertRule = z.infer<typeof alertRuleSchema>;
export type RuleBuilderQuery = z.infer<typeof ruleBuilderQuerySchema>;
