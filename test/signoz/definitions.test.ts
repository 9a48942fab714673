import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type AlertRule,
  alertProblems,
  alertRuleSchema,
  type Dashboard,
  dashboardProblems,
  dashboardSchema,
  loadDefinitions,
  parseFilterExpression,
} from '@flowtrace/signoz';
import { METRICS, type MetricSpec } from '@flowtrace/telemetry';
import { describe, expect, it } from 'vitest';

/**
 * The dashboards and alert rules under signoz/ are valid import JSON and reference only what the fleet
 * emits (packages/telemetry/src/metric-names.ts). The reference walk here is written independently of
 * references.ts, which the provisioner runs, so that a bug in one does not hide a bad file.
 */
const root = path.resolve(import.meta.dirname, '../../signoz');
const RESOURCE = ['service.name', 'deployment.environment.name', 'service.instance.id'];
const catalogue: readonly MetricSpec[] = Object.values(METRICS);

async function jsonFiles(sub: string): Promise<string[]> {
  return (await readdir(path.join(root, sub))).filter((f) => f.endsWith('.json')).sort();
}
const read = async (sub: string, file: string) =>
  JSON.parse(await readFile(path.join(root, sub, file), 'utf8')) as Record<string, unknown>;

/** The catalogue entry a SigNoz metric name stands for: `x`, or `x.bucket|count|sum` of histogram `x`. */
function catalogued(metric: string) {
  const exact = catalogue.find((m) => m.name === metric);
  if (exact) return exact;
  const match = /^(.*)\.(bucket|count|sum)$/.exec(metric);
  return catalogue.find((m) => m.kind === 'histogram' && m.name === match?.[1]);
}

interface Reference {
  where: string;
  metric: string;
  keys: string[];
}

function dashboardReferences(dashboard: Dashboard): Reference[] {
  return dashboard.widgets.flatMap((widget) =>
    widget.query.builder.queryData.map((q) => ({
      where: `${widget.title} / ${q.queryName}`,
      metric: q.aggregateAttribute.key,
      keys: [
        ...q.filters.items.map((item) => item.key.key),
        ...parseFilterExpression(q.filter.expression).map((clause) => clause.key),
        ...q.groupBy.map((key) => key.key),
      ],
    })),
  );
}

function alertReferences(rule: AlertRule): Reference[] {
  return rule.condition.compositeQuery.queries.flatMap((query) =>
    query.type === 'builder_query'
      ? query.spec.aggregations.map((a) => ({
          where: `${rule.alert} / ${query.spec.name}`,
          metric: a.metricName,
          keys: [
            ...parseFilterExpression(query.spec.filter.expression).map((clause) => clause.key),
            ...query.spec.groupBy.map((key) => key.name),
          ],
        }))
      : [],
  );
}

function referenceProblems(references: Reference[]): string[] {
  return references.flatMap(({ where, metric, keys }) => {
    const spec = catalogued(metric);
    if (!spec) return [`${where}: ${metric} is not in METRICS`];
    return keys
      .filter((key) => !spec.attributes.includes(key) && !RESOURCE.includes(key))
      .map((key) => `${where}: ${key} is not an attribute of ${spec.name}`);
  });
}

/** Catalogue names a set of definitions uses, with histogram series folded onto their metric. */
const baseNames = (references: Reference[]) =>
  new Set(references.map((r) => catalogued(r.metric)?.name ?? r.metric));

describe('signoz/dashboards', async () => {
  const files = await jsonFiles('dashboards');

  it('holds the fleet overview and the LLM usage dashboards', () => {
    expect(files).toEqual(['fleet-overview.json', 'llm-usage.json']);
  });

  describe.each(files)('%s', async (file) => {
    const raw = await read('dashboards', file);
    const parsed = dashboardSchema.safeParse(raw);

    it('is SigNoz v1 dashboard JSON (the zod import schema)', () => {
      expect(parsed.error?.issues ?? []).toEqual([]);
    });

    const dashboard = parsed.data as Dashboard;

    it('has unique widget ids and exactly one layout entry per widget', () => {
      const ids = dashboard.widgets.map((w) => w.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(dashboard.layout.map((l) => l.i).sort()).toEqual([...ids].sort());
    });

    it('references only catalogued metrics and the attributes listed for them', () => {
      const references = dashboardReferences(dashboard);
      expect(references.length).toBeGreaterThan(0);
      expect(referenceProblems(references)).toEqual([]);
      for (const widget of dashboard.widgets) {
        for (const q of widget.query.builder.queryData) {
          expect(q.aggregations.map((a) => a.metricName)).toEqual([q.aggregateAttribute.key]);
        }
      }
      for (const variable of Object.values(dashboard.variables)) {
        const attribute = variable.dynamicVariablesAttribute ?? '';
        expect(RESOURCE.includes(attribute) || catalogue.some((m) => m.attributes.includes(attribute))).toBe(
          true,
        );
      }
    });

    it('passes the checks the provisioner runs (aggregations, variables, v4/v5 agreement)', () => {
      expect(dashboardProblems(dashboard, METRICS)).toEqual([]);
    });
  });

  it('cover throughput, latency, failures, queues, runs, reconciler, API, export and runtime', async () => {
    const fleet = dashboardSchema.parse(await read('dashboards', 'fleet-overview.json'));
    expect([...baseNames(dashboardReferences(fleet))].sort()).toEqual(
      [
        METRICS.nodeDuration,
        METRICS.messagingProcessDuration,
        METRICS.nodeRetries,
        METRICS.queueDepth,
        METRICS.queueWait,
        METRICS.jobsStalled,
        METRICS.runsStarted,
        METRICS.runsFinished,
        METRICS.runDuration,
        METRICS.reconcilerRedrives,
        METRICS.httpServerDuration,
        METRICS.spansProcessed,
        METRICS.spanQueueSize,
        METRICS.eventLoopDelay,
        METRICS.heapUsed,
      ]
        .map((m) => m.name)
        .sort(),
    );
    const llm = dashboardSchema.parse(await read('dashboards', 'llm-usage.json'));
    expect([...baseNames(dashboardReferences(llm))].sort()).toEqual(
      [METRICS.tokenUsage, METRICS.llmCost, METRICS.operationDuration].map((m) => m.name).sort(),
    );
    const groupKeys = llm.widgets.flatMap((w) =>
      w.query.builder.queryData.flatMap((q) => q.groupBy.map((k) => k.key)),
    );
    expect(groupKeys).toEqual(
      expect.arrayContaining(['gen_ai.request.model', 'gen_ai.token.type', 'flowtrace.tenant.id']),
    );
  });
});

describe('signoz/alerts', async () => {
  const files = await jsonFiles('alerts');

  it('holds the five alert rules', () => {
    expect(files).toEqual([
      'llm-cost-per-hour.json',
      'node-error-rate.json',
      'queue-wait.json',
      'stalled-jobs.json',
      'tenant-spend.json',
    ]);
  });

  describe.each(files)('%s', async (file) => {
    const parsed = alertRuleSchema.safeParse(await read('alerts', file));

    it('is a POST /api/v2/rules body (the zod import schema)', () => {
      expect(parsed.error?.issues ?? []).toEqual([]);
    });

    const rule = parsed.data as AlertRule;

    it('references only catalogued metrics and the attributes listed for them', () => {
      const references = alertReferences(rule);
      expect(references.length).toBeGreaterThan(0);
      expect(referenceProblems(references)).toEqual([]);
    });

    it('passes the checks the provisioner runs', () => {
      expect(alertProblems(rule, METRICS)).toEqual([]);
    });
  });

  it('watch what they are named for, over the windows asked for', async () => {
    const rules = Object.fromEntries(
      await Promise.all(
        files.map(
          async (f) => [f.replace('.json', ''), alertRuleSchema.parse(await read('alerts', f))] as const,
        ),
      ),
    );
    const summary = Object.fromEntries(
      Object.entries(rules).map(([name, rule]) => [
        name,
        {
          metrics: [...baseNames(alertReferences(rule))],
          window: rule.evaluation.spec.evalWindow,
          op: rule.condition.thresholds.spec.map((t) => `${t.op} ${t.target}`),
        },
      ]),
    );
    expect(summary).toEqual({
      'node-error-rate': { metrics: [METRICS.nodeDuration.name], window: '5m', op: ['above 0.05'] },
      'queue-wait': { metrics: [METRICS.queueWait.name], window: '5m', op: ['above 30'] },
      'stalled-jobs': { metrics: [METRICS.jobsStalled.name], window: '10m', op: ['above 0'] },
      'llm-cost-per-hour': { metrics: [METRICS.llmCost.name], window: '1h', op: ['above 10'] },
      'tenant-spend': { metrics: [METRICS.tenantSpend.name], window: '1h', op: ['above 5'] },
    });
  });
});

describe('the checks find what is wrong', () => {
  const base = async () => dashboardSchema.parse(await read('dashboards', 'fleet-overview.json'));

  it('an unknown metric, an attribute the metric does not carry, and a widget with no layout', async () => {
    const dashboard = await base();
    const [first, second] = dashboard.widgets;
    const q0 = first?.query.builder.queryData[0];
    const q1 = second?.query.builder.queryData[0];
    if (!q0 || !q1) throw new Error('fixture has fewer widgets than expected');
    q0.aggregateAttribute.key = 'flowtrace.node.durations.count';
    q0.aggregations[0] = { ...q0.aggregations[0], metricName: 'flowtrace.node.durations.count' } as never;
    q1.groupBy.push({ key: 'flowtrace.tenant.id', dataType: 'string', type: 'tag' });
    dashboard.layout = dashboard.layout.filter((l) => l.i !== second?.id);
    const problems = dashboardProblems(dashboard, METRICS).join('\n');
    expect(problems).toContain('metric "flowtrace.node.durations.count" is not in the catalogue');
    expect(problems).toContain('attribute "flowtrace.tenant.id" is not recorded on flowtrace.node.duration');
    expect(problems).toContain(`no layout entry with i "${second?.id}"`);
  });

  it('v4 and v5 halves of a query that disagree, and an undeclared variable', async () => {
    const dashboard = await base();
    const q = dashboard.widgets[4]?.query.builder.queryData[0];
    if (!q) throw new Error('fixture has fewer widgets than expected');
    q.filter.expression = `${q.filter.expression} AND node.type = 'llm'`;
    q.filters.items.push({
      key: { key: 'flowtrace.node.type', dataType: 'string', type: 'tag' },
      op: 'in',
      value: '$node',
    });
    const problems = dashboardProblems(dashboard, METRICS).join('\n');
    expect(problems).toContain('disagrees with filters.items');
    expect(problems).toContain('$node is not a dashboard variable');
  });

  it('a percentile on a counter and a rate on a gauge', async () => {
    const rule = alertRuleSchema.parse(await read('alerts', 'stalled-jobs.json'));
    const query = rule.condition.compositeQuery.queries[0];
    if (query?.type !== 'builder_query') throw new Error('expected a builder query');
    query.spec.aggregations[0] = {
      metricName: 'flowtrace.queue.stalled',
      timeAggregation: '',
      spaceAggregation: 'p95',
    };
    expect(alertProblems(rule, METRICS).join('\n')).toContain('percentile p95 needs the histogram');
    query.spec.aggregations[0] = {
      metricName: 'flowtrace.queue.depth',
      timeAggregation: 'rate',
      spaceAggregation: 'sum',
    };
    expect(alertProblems(rule, METRICS).join('\n')).toContain(
      'flowtrace.queue.depth is a gauge; "rate" does not apply',
    );
  });

  it('what SigNoz v0.135+ would read as a v2 body, or cut: a schemaVersion, no v5 version, long titles, many tags', async () => {
    const file = await read('dashboards', 'fleet-overview.json');
    const issues = (body: Record<string, unknown>) => {
      const result = dashboardSchema.safeParse(body);
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues(file)).toEqual([]);
    expect(issues({ ...file, schemaVersion: 'v6' })).toEqual([
      expect.stringMatching(/^schemaVersion: a v1 dashboard has no schemaVersion/),
    ]);
    expect(issues({ ...file, version: undefined })).toEqual([
      expect.stringMatching(/^version: must be "v5"/),
    ]);
    expect(issues({ ...file, title: 'x'.repeat(129) })).toEqual([expect.stringMatching(/^title: .*128/)]);
    expect(issues({ ...file, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) })).toEqual([
      expect.stringMatching(/^tags: .*10 tags/),
    ]);
  });

  it('the loader names the file and the path of a schema problem, and refuses unreadable JSON', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'signoz-defs-'));
    try {
      await mkdir(path.join(dir, 'dashboards'));
      await mkdir(path.join(dir, 'alerts'));
      const dashboard = await read('dashboards', 'llm-usage.json');
      const widgets = dashboard.widgets as { query: { builder: { queryData: Record<string, unknown>[] } } }[];
      delete widgets[2]?.query.builder.queryData[0]?.aggregateAttribute;
      await writeFile(path.join(dir, 'dashboards', 'broken.json'), JSON.stringify(dashboard));
      await writeFile(path.join(dir, 'alerts', 'truncated.json'), '{"alert": ');
      const loaded = await loadDefinitions({ dir, catalogue: METRICS });
      expect(loaded.problems).toEqual([
        expect.stringMatching(
          /^dashboards\/broken\.json: widgets\[2\]\.query\.builder\.queryData\[0\]\.aggregateAttribute: /,
        ),
        expect.stringMatching(/^alerts\/truncated\.json: not valid JSON: /),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
