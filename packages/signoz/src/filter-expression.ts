import type { FilterItem } from './dashboard-schema.ts';

/**
 * The part of SigNoz's v5 filter language (`filter.expression`) that our dashboards and alerts use:
 * `key op value` clauses joined by `AND`, with `=`, `!=`, `IN`, `NOT IN`, `EXISTS`, `NOT EXISTS`, quoted
 * strings, `['a', 'b']` lists and `$variable` references. Anything else is refused rather than guessed at,
 * so a checker built on it cannot pass an expression it did not understand.
 */
export interface FilterClause {
  key: string;
  op: '=' | '!=' | 'IN' | 'NOT IN' | 'EXISTS' | 'NOT EXISTS';
  /** The value as written: `'text'`, `$name`, `['a', 'b']`, or absent for EXISTS. */
  value?: string;
}

export class FilterExpressionError extends Error {
  override name = 'FilterExpressionError';
}

const clausePattern =
  /^([A-Za-z_][A-Za-z0-9_.]*)\s+(=|!=|NOT IN|IN|NOT EXISTS|EXISTS)(?:\s+('[^']*'|\$[A-Za-z_][A-Za-z0-9_]*|\[\s*'[^']*'(?:\s*,\s*'[^']*')*\s*\]|-?\d+(?:\.\d+)?))?$/;

export function parseFilterExpression(expression: string): FilterClause[] {
  const trimmed = expression.trim();
  if (trimmed === '') return [];
  return trimmed.split(/\s+AND\s+/).map((text) => {
    const match = clausePattern.exec(text.trim());
    if (!match) throw new FilterExpressionError(`cannot read filter clause "${text}" in "${expression}"`);
    const [, key, op, value] = match as unknown as [string, string, FilterClause['op'], string | undefined];
    const needsValue = op !== 'EXISTS' && op !== 'NOT EXISTS';
    if (needsValue !== (value !== undefined)) {
      throw new FilterExpressionError(`"${text}": ${op} ${needsValue ? 'needs' : 'takes no'} value`);
    }
    return value === undefined ? { key, op } : { key, op, value };
  });
}

/** `$name` references in an expression or a v4 filter value. */
export function variableReferences(text: string): string[] {
  return [...text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string);
}

const v5Operator = {
  '=': '=',
  '!=': '!=',
  in: 'IN',
  nin: 'NOT IN',
  exists: 'EXISTS',
  nexists: 'NOT EXISTS',
} as const;

const quote = (text: string) => `'${text}'`;

/**
 * The `filter.expression` equivalent of v4 `filters.items`, written the way SigNoz's own exports write it
 * (`service.name IN $service_name AND flowtrace.node.outcome = 'failed'`).
 */
export function renderFilterItems(items: readonly FilterItem[]): string {
  return items
    .map((item) => {
      const op = v5Operator[item.op];
      if (op === 'EXISTS' || op === 'NOT EXISTS') return `${item.key.key} ${op}`;
      const { value } = item;
      let rendered: string;
      if (typeof value === 'string' && value.startsWith('$')) rendered = value;
      else if (op === 'IN' || op === 'NOT IN') {
        rendered = `[${(Array.isArray(value) ? value : [value]).map(quote).join(', ')}]`;
      } else rendered = quote(Array.isArray(value) ? value.join(',') : value);
      return `${item.key.key} ${op} ${rendered}`;
    })
    .join(' AND ');
}
