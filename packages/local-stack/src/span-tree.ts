import { FlowtraceAttributes, semconv } from '@flowtrace/telemetry';
import type { ReceivedSpan } from '@flowtrace/telemetry/receiver';

export interface SpanTreeOptions {
  /** Leave out spans whose name matches (e.g. Redis commands), re-attaching their children. */
  hide?: (span: ReceivedSpan) => boolean;
}

const KIND: Record<string, string> = {
  SERVER: 'server',
  CLIENT: 'client',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
  INTERNAL: 'internal',
  UNSPECIFIED: '',
};

/** The attributes a span's line shows, with the short label each is printed under. */
const DETAILS: readonly (readonly [label: string, attribute: string])[] = [
  ['node', FlowtraceAttributes.NODE_ID],
  ['attempt', FlowtraceAttributes.NODE_ATTEMPT],
  ['input_tokens', semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS],
  ['output_tokens', semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS],
  ['http_status', semconv.ATTR_HTTP_RESPONSE_STATUS_CODE],
];

function describe(span: ReceivedSpan): string {
  const ms = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
  const service = String(span.resource[semconv.ATTR_SERVICE_NAME] ?? '?');
  const details: string[] = [];
  for (const [label, attribute] of DETAILS) {
    const value = span.attributes[attribute];
    if (value !== undefined) details.push(`${label}=${String(value)}`);
  }
  const status =
    span.status.code === 'ERROR' ? `  ERROR${span.status.message ? `: ${span.status.message}` : ''}` : '';
  return `${span.name}  [${KIND[span.kind] ?? span.kind} · ${service} · ${ms.toFixed(1)} ms${
    details.length > 0 ? ` · ${details.join(' ')}` : ''
  }]${status}`;
}

/**
 * Renders one trace as an indented tree, children in start order. Spans whose parent is missing are
 * listed as extra roots, marked, so a broken trace is visible at a glance.
 */
export function renderSpanTree(spans: readonly ReceivedSpan[], options: SpanTreeOptions = {}): string {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const visibleParent = (span: ReceivedSpan): string | undefined => {
    let parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    while (parent && options.hide?.(parent))
      parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined;
    return parent?.spanId;
  };
  const children = new Map<string | undefined, ReceivedSpan[]>();
  const orphans = new Set<string>();
  for (const span of spans) {
    if (options.hide?.(span)) continue;
    let parentKey = visibleParent(span);
    if (parentKey === undefined && span.parentSpanId && !byId.has(span.parentSpanId)) {
      orphans.add(span.spanId);
      parentKey = undefined;
    }
    const list = children.get(parentKey) ?? [];
    list.push(span);
    children.set(parentKey, list);
  }
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, prefix: string, last: boolean, root: boolean): void => {
    const marker = orphans.has(span.spanId) ? '(parent missing) ' : '';
    lines.push(
      root ? `${marker}${describe(span)}` : `${prefix}${last ? '└─ ' : '├─ '}${marker}${describe(span)}`,
    );
    const kids = (children.get(span.spanId) ?? []).sort((a, b) =>
      a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1,
    );
    const childPrefix = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
    for (const [i, kid] of kids.entries()) walk(kid, childPrefix, i === kids.length - 1, false);
  };
  const roots = (children.get(undefined) ?? []).sort((a, b) =>
    a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1,
  );
  for (const root of roots) walk(root, '', true, true);
  return lines.join('\n');
}
