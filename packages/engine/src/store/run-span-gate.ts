import type { Sql } from '@flowtrace/db';
import type { RedisConnection } from '../queue/redis-connection.ts';
import { FINISHED_RUN_COLUMNS, type FinishedRunRow, toFinishedRun } from './finished-run.ts';
import type { FinishedRun } from './types.ts';

/** How long a claim is remembered: far longer than any process could still be deciding to emit. */
const CLAIM_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * Decides which process records a run's `invoke_workflow` span when the run was ended from outside its
 * workers (cancelled, timed out) while nodes were still running: the span must end after their `process`
 * spans, so the workers whose attempts the stop ended, and the terminator's fallback, all offer to record
 * it. Postgres says when the run has settled (terminal, no node running); a Redis `SET NX` per run lets
 * exactly one of them record it.
 */
export class RunSpanGate {
  readonly #sql: Sql;
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(deps: { sql: Sql; redis: RedisConnection; prefix: string }) {
    this.#sql = deps.sql;
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
  }

  /** The run, once it has a terminal status and none of its nodes is running; null before that. */
  async settledRun(runId: string): Promise<FinishedRun | null> {
    const sql = this.#sql;
    const [row] = await sql`
      select ${sql(FINISHED_RUN_COLUMNS)} from runs r
      where r.id = ${runId} and r.status in ('completed', 'failed', 'cancelled')
        and not exists (select 1 from node_runs n where n.run_id = r.id and n.status = 'running')`;
    return row ? toFinishedRun(row as unknown as FinishedRunRow) : null;
  }

  /** True for exactly one caller per run. */
  async claim(runId: string): Promise<boolean> {
    const set = await this.#redis.set(`${this.#prefix}:run-span:${runId}`, '1', 'PX', CLAIM_TTL_MS, 'NX');
    return set === 'OK';
  }
}
