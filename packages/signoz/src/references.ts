import type { MetricSpec } from '@flowtrace/telemetry';
import {
  ATTR_DEPLOYMENT_ENVIRONMENT_NAME,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
} from '@flowtrace/telemetry/semconv';
import type { AlertRule } from './alert-schema.ts';
import type { BuilderQuery, Dashboard } from './dashboard-schema.ts';
import {
  type FilterClause,
  FilterExpressionError,
  parseFilterExpression,
  renderFilterItems,
  variableReferences,
} from './filter-expression.ts';

/**
 * Checks that dashboards and alert rules only reference what the fleet emits: every metric name must be in
 * the catalogue (`packages/telemetry/src/metric-names.ts`, where a histogram `x` is stored by SigNoz as
 * `x.bucket`, `x.count` and `x.sum`), every attribute used in a filter or group-by must be one the catalogue
 * lists for that metric or a resource attribute, and each aggregation must suit the metric's kind. For
 * dashboards it also checks the widget/layout pairing, the variables, and that the v4 and v5 halves of each
 * builder query say the same thing. Each problem is a line naming where it is.
 */
export type MetricCatalogue = Readonly<Record<string, Pick<MetricSpec, 'name' | 'kind' | 'attributes'>>>;

/** Resource attributes every process sets (SDK resource), usable on any metric. */
export const RESOURCE_ATTRIBUTES: readonly string[] = [
  ATTR_SERVICE_NAME,
  ATTR_DEPLOYMENT_ENVIRONMENT_NAME,
  ATTR_SERVICE_INSTANCE_ID,
];

type Series = 'value' | 'bucket' | 'count' | 'sum';
interface ResolvedMetric {
  spec: Pick<MetricSpec, 'name' | 'kind' | 'attributes'>;
  series: Series;
}

function resolveMetric(name: string, catalogue: MetricCatalogue): ResolvedMetric | undefined {
  const specs = Object.values(catalogue);
  const exact = specs.find((spec) => spec.name === name);
  if (exact) return { spec: exact, series: 'value' };
  const match = /^(.*)\.(bucket|count|sum)$/.exec(name);
  if (!match) return undefined;
  const base = specs.find((spec) => spec.name === match[1] && spec.kind === 'histogram');
  return base ? { spec: base, series: match[2] as Series } : undefined;
}

interface MetricUse {
  where: string;
  metric: string;
  timeAggregation: string;
  spaceAggregation: string;
  attributes: readonly { key: string; where: string }[];
}

const percentile = /^p\d\d$/;

function metricUseProblems(use: MetricUse, catalogue: MetricCatalogue): string[] {
  const resolved = resolveMetric(use.metric, catalogue);
  if (!resolved) {
    return [
      `${use.where}: metric "${use.metric}" is not in the catalogue (packages/telemetry/src/metric-names.ts)`,
    ];
  }
  const { spec, series } = resolved;
  const problems: string[] = [];
  const { timeAggregation: time, spaceAggregation: space } = use;
  if (series === 'bucket') {
    if (!percentile.test(space)) {
      problems.push(`${use.where}: ${use.metric} needs a percentile space aggregation, not "${space}"`);
    }
    if (time !== '' && time !== 'rate') problems.push(`${use.where}: ${use.metric} takes no "${time}"`);
  } else if (percentile.test(space)) {
    problems.push(
      `${use.where}: percentile ${space} needs the histogram's .bucket series, not ${use.metric}`,
    );
  } else if (series === 'count' || series === 'sum' || spec.kind === 'counter') {
    if (time !== 'rate' && time !== 'increase') {
      problems.push(`${use.where}: ${use.metric} is a counter; use rate or increase, not "${time}"`);
    }
  } else if (spec.kind === 'histogram') {
    problems.push(`${use.where}: histogram ${spec.name} is queried as .bucket, .count or .sum`);
  } else if (time === 'rate' || time === 'increase' || time === '') {
    problems.push(`${use.where}: ${use.metric} is a ${spec.kind}; "${time}" does not apply`);
  }
  for (const attribute of use.attributes) {
    if (!spec.attributes.includes(attribute.key) && !RESOURCE_ATTRIBUTES.includes(attribute.key)) {
      problems.push(
        `${attribute.where}: attribute "${attribute.key}" is not recorded on ${spec.name} ` +
          `(it has: ${[...spec.attributes, ...RESOURCE_ATTRIBUTES].join(', ')})`,
      );
    }
  }
  return problems;
}

function clausesOf(expression: string, where: string, problems: string[]): FilterClause[] {
  try {
    return parseFilterExpression(expression);
  } catch (error) {
    if (!(error instanceof FilterExpressionError)) throw error;
    problems.push(`${where}: ${error.message}`);
    return [];
  }
}

function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}

/** Query names an expression such as `A / (A + B) * 3600` refers to. */
const formulaOperands = (expression: string) => [...expression.matchAll(/\b([A-Z])\b/g)].map((m) => m[1]);

const legendLabels = (legend: string | undefined) =>
  [...(legend ?? '').matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1] as string);

function expectedMetricType(metric: string, catalogue: MetricCatalogue): string | undefined {
  const resolved = resolveMetric(metric, catalogue);
  if (!resolved) return undefined;
  if (resolved.series === 'bucket') return 'Histogram';
  if (resolved.series !== 'value' || resolved.spec.kind === 'counter') return 'Sum';
  return resolved.spec.kind === 'histogram' ? 'Histogram' : 'Gauge';
}

function builderQueryProblems(
  query: BuilderQuery,
  where: string,
  dashboard: Dashboard,
  catalogue: MetricCatalogue,
): string[] {
  const problems: string[] = [];
  const variables = Object.values(dashboard.variables);
  const [aggregation] = query.aggregations;
  const attribute = query.aggregateAttribute;
  if (query.expression !== query.queryName) {
    problems.push(`${where}.expression: "${query.expression}" should be the query name ${query.queryName}`);
  }
  if (
    aggregation &&
    (aggregation.metricName !== attribute.key ||
      aggregation.timeAggregation !== query.timeAggregation ||
      aggregation.spaceAggregation !== query.spaceAggregation)
  ) {
    problems.push(
      `${where}.aggregations[0]: ${JSON.stringify(aggregation)} disagrees with aggregateAttribute.key ` +
        `"${attribute.key}", timeAggregation "${query.timeAggregation}", spaceAggregation "${query.spaceAggregation}"`,
    );
  }
  if (aggregation?.reduceTo !== query.reduceTo) {
    problems.push(`${where}: reduceTo "${query.reduceTo}" and aggregations[0].reduceTo disagree`);
  }
  const rendered = renderFilterItems(query.filters.items);
  if (query.filter.expression !== rendered) {
    problems.push(
      `${where}.filter.expression: "${query.filter.expression}" disagrees with filters.items, which read "${rendered}"`,
    );
  }
  const metricType = expectedMetricType(attribute.key, catalogue);
  if (metricType && attribute.type !== metricType) {
    problems.push(`${where}.aggregateAttribute.type: "${attribute.type}" should be "${metricType}"`);
  }

  const attributes: { key: string; where: string }[] = [];
  query.filters.items.forEach((item, i) => {
    const itemWhere = `${where}.filters.items[${i}]`;
    attributes.push({ key: item.key.key, where: `${itemWhere}.key.key` });
    for (const name of variableReferences(JSON.stringify(item.value))) {
      const variable = variables.find((v) => v.name === name);
      if (!variable) problems.push(`${itemWhere}.value: $${name} is not a dashboard variable`);
      else if (variable.dynamicVariablesAttribute && variable.dynamicVariablesAttribute !== item.key.key) {
        problems.push(
          `${itemWhere}: $${name} holds values of ${variable.dynamicVariablesAttribute}, not ${item.key.key}`,
        );
      }
    }
  });
  for (const clause of clausesOf(query.filter.expression, `${where}.filter.expression`, problems)) {
    attributes.push({ key: clause.key, where: `${where}.filter.expression (${clause.key})` });
  }
  query.groupBy.forEach((key, i) => {
    attributes.push({ key: key.key, where: `${where}.groupBy[${i}].key` });
    const type = RESOURCE_ATTRIBUTES.includes(key.key) ? 'resource' : 'tag';
    if (key.type !== type) problems.push(`${where}.groupBy[${i}].type: "${key.type}" should be "${type}"`);
  });
  for (const label of legendLabels(query.legend)) {
    if (!query.groupBy.some((key) => key.key === label)) {
      problems.push(`${where}.legend: {{${label}}} is not one of the query's group-by keys`);
    }
  }
  problems.push(
    ...metricUseProblems(
      {
        where: `${where}.aggregateAttribute.key`,
        metric: attribute.key,
        timeAggregation: query.timeAggregation,
        spaceAggregation: query.spaceAggregation,
        attributes,
      },
      catalogue,
    ),
  );
  return problems;
}

export function dashboardProblems(dashboard: Dashboard, catalogue: MetricCatalogue): string[] {
  const problems: string[] = [];
  const widgetIds = dashboard.widgets.map((w) => w.id);
  const layoutIds = dashboard.layout.map((l) => l.i);
  for (const id of duplicates(widgetIds)) problems.push(`widgets: id "${id}" is used more than once`);
  for (const id of duplicates(layoutIds)) problems.push(`layout: "${id}" is placed more than once`);
  dashboard.widgets.forEach((widget, w) => {
    if (!layoutIds.includes(widget.id)) {
      problems.push(`widgets[${w}] ("${widget.title}"): no layout entry with i "${widget.id}"`);
    }
  });
  dashboard.layout.forEach((item, l) => {
    if (!widgetIds.includes(item.i)) problems.push(`layout[${l}]: "${item.i}" is not a widget id`);
  });

  const variables = Object.entries(dashboard.variables);
  for (const name of duplicates(variables.map(([, v]) => v.name))) {
    problems.push(`variables: name "${name}" is used more than once`);
  }
  const allAttributes = new Set([
    ...RESOURCE_ATTRIBUTES,
    ...Object.values(catalogue).flatMap((spec) => spec.attributes),
  ]);
  for (const [key, variable] of variables) {
    if (variable.id !== key) problems.push(`variables.${key}.id: "${variable.id}" should equal its key`);
    const attribute = variable.dynamicVariablesAttribute;
    if (attribute && !allAttributes.has(attribute)) {
      problems.push(`variables.${key}.dynamicVariablesAttribute: "${attribute}" is not in the catalogue`);
    }
  }

  dashboard.widgets.forEach((widget, w) => {
    const where = `widgets[${w}] ("${widget.title}").query.builder`;
    const { queryData, queryFormulas } = widget.query.builder;
    const names = [...queryData.map((q) => q.queryName), ...queryFormulas.map((f) => f.queryName)];
    for (const name of duplicates(names))
      problems.push(`${where}: query name ${name} is used more than once`);
    queryData.forEach((query, q) => {
      problems.push(...builderQueryProblems(query, `${where}.queryData[${q}]`, dashboard, catalogue));
    });
    queryFormulas.forEach((formula, f) => {
      const operands = formulaOperands(formula.expression);
      for (const operand of operands) {
        if (!queryData.some((q) => q.queryName === operand)) {
          problems.push(`${where}.queryFormulas[${f}]: ${operand} is not a query of this widget`);
        }
      }
      const groupKeys = queryData.filter((q) => operands.includes(q.queryName)).flatMap((q) => q.groupBy);
      for (const label of legendLabels(formula.legend)) {
        if (!groupKeys.some((key) => key.key === label)) {
          problems.push(
            `${where}.queryFormulas[${f}].legend: {{${label}}} is not a group-by key of its queries`,
          );
        }
      }
    });
    if (queryData.every((q) => q.disabled) && queryFormulas.every((f) => f.disabled)) {
      problems.push(`${where}: every query is disabled`);
    }
  });
  return problems;
}

export function alertProblems(rule: AlertRule, catalogue: MetricCatalogue): string[] {
  const problems: string[] = [];
  const { queries } = rule.condition.compositeQuery;
  const where = 'condition.compositeQuery.queries';
  const names = queries.map((q) => q.spec.name);
  for (const name of duplicates(names)) problems.push(`${where}: query name ${name} is used more than once`);
  const selected = queries.find((q) => q.spec.name === rule.condition.selectedQueryName);
  if (!selected) {
    problems.push(`condition.selectedQueryName: "${rule.condition.selectedQueryName}" is not a query`);
  } else if (selected.spec.disabled) {
    problems.push(`condition.selectedQueryName: ${selected.spec.name} is disabled`);
  }
  const groupNames = new Set<string>();
  queries.forEach((query, q) => {
    const at = `${where}[${q}].spec`;
    if (query.type === 'builder_formula') {
      for (const operand of formulaOperands(query.spec.expression)) {
        if (!queries.some((other) => other.type === 'builder_query' && other.spec.name === operand)) {
          problems.push(`${at}.expression: ${operand} is not a builder query of this rule`);
        }
      }
      return;
    }
    const { spec } = query;
    const attributes: { key: string; where: string }[] = [];
    if (variableReferences(spec.filter.expression).length > 0) {
      problems.push(`${at}.filter.expression: alert rules have no dashboard variables`);
    }
    for (const clause of clausesOf(spec.filter.expression, `${at}.filter.expression`, problems)) {
      attributes.push({ key: clause.key, where: `${at}.filter.expression (${clause.key})` });
    }
    spec.groupBy.forEach((key, i) => {
      groupNames.add(key.name);
      attributes.push({ key: key.name, where: `${at}.groupBy[${i}].name` });
      const context = RESOURCE_ATTRIBUTES.includes(key.name) ? 'resource' : 'attribute';
      if (key.fieldContext !== context) {
        problems.push(`${at}.groupBy[${i}].fieldContext: "${key.fieldContext}" should be "${context}"`);
      }
    });
    spec.aggregations.forEach((aggregation, a) => {
      problems.push(
        ...metricUseProblems(
          {
            where: `${at}.aggregations[${a}].metricName`,
            metric: aggregation.metricName,
            timeAggregation: aggregation.timeAggregation,
            spaceAggregation: aggregation.spaceAggregation,
            attributes,
          },
          catalogue,
        ),
      );
    });
  });
  for (const label of queries.flatMap((q) => legendLabels(q.spec.legend))) {
    if (!groupNames.has(label)) problems.push(`${where}: legend {{${label}}} is not a group-by key`);
  }
  for (const key of rule.notificationSettings?.groupBy ?? []) {
    if (!groupNames.has(key)) problems.push(`notificationSettings.groupBy: "${key}" is not a group-by key`);
  }
  const thresholds = rule.condition.thresholds.spec;
  if (thresholds.length === 1 && thresholds[0]?.name !== rule.labels.severity) {
    problems.push(
      `labels.severity: "${rule.labels.severity}" differs from the threshold name "${thresholds[0]?.name}", ` +
        'which SigNoz uses as the severity of the alerts it fires',
    );
  }
  return problems;
}
