import type { Sql } from '@flowtrace/db';
import type { JsonValue } from '@flowtrace/workflow';

/** One row of `event_logs` as the API returns it. */
export interface EventView {
  id: number;
  /** The event's position in its run, in commit order (`GET /v1/runs/:id/events?after=` pages by it). */
  seq: number;
  type: string;
  nodeId: string | null;
  attempt: number | null;
  message: string | null;
  data: JsonValue | null;
  traceId: string;
  spanId: string | null;
  createdAt: Date;
}

/** Events that end a run; each run has exactly one, written with its terminal status. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  'run.completed',
  'run.failed',
  'run.cancelled',
]);

/**
 * A run's events after `afterSeq`, in `seq` order. Because `seq` is taken under the run's row lock and
 * committed in order, a reader that has seen `seq` n will never later find an event before it: paging by
 * `seq` skips nothing. (Paging by `id` could: identity values are drawn before commit, in another order.)
 */
export async function readRunEvents(
  sql: Sql,
  runId: string,
  page: { afterSeq: number; limit: number },
): Promise<EventView[]> {
  const rows = await sql`
    select id, seq, type, node_id, attempt, message, data, trace_id, span_id, created_at from event_logs
    where run_id = ${runId} and seq > ${page.afterSeq} order by seq limit ${page.limit}`;
  return rows.map((e) => ({
    id: Number(e.id),
    seq: e.seq,
    type: e.type,
    nodeId: e.node_id,
    attempt: e.attempt,
    message: e.message,
    data: e.data,
    traceId: e.trace_id,
    spanId: e.span_id,
    createdAt: e.created_at,
  }));
}
