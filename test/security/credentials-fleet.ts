import { ApiKeyStore } from '@flowtrace/api';
import { createExecutorSuite, type ExecutorSuite, loadExecutorsConfig } from '@flowtrace/executors';
import { createLogger, noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { NODE_TYPES, type NodeExecutor } from '@flowtrace/workflow';
import { trace } from '@opentelemetry/api';
import { type InProcessFleet, startInProcessFleet } from '../support/in-process-fleet.ts';

export interface BoundaryFleet {
  readonly fleet: InProcessFleet;
  readonly suite: ExecutorSuite;
  /** Tenant a (the fleet's own key) and tenant b, with their ids. */
  readonly a: { key: string; tenantId: string };
  readonly b: { key: string; tenantId: string };
  /** Calls the API with a tenant's key. */
  api(
    key: string,
    method: 'GET' | 'POST',
    url: string,
    payload?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown>; text: string }>;
  /** Every row of a run (node runs, events, steps, costs, the run without its input), as JSON text. */
  rowsOf(runId: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The API and workers in one process over real Postgres and Redis, with the production executor suite
 * configured from `env`. `env` receives both tenants' ids, so that credentials can name them: the suite
 * is built once the tenants exist, and the workers reach it through delegating executors.
 */
export async function startBoundaryFleet(
  env: (tenants: { a: string; b: string }) => Record<string, string>,
): Promise<BoundaryFleet> {
  let suite: ExecutorSuite | undefined;
  const executors: NodeExecutor[] = NODE_TYPES.map((type) => ({
    type,
    execute: (ctx) => {
      const executor = suite?.executors.find((e) => e.type === type);
      if (executor === undefined) throw new Error(`no ${type} executor in this test's suite`);
      return executor.execute(ctx);
    },
  }));
  const fleet = await startInProcessFleet({ executors, deferredSpans: noopDeferredSpanEmitter });
  const tenantB = await new ApiKeyStore({ sql: fleet.db.handle.sql }).create('tenant-b');
  suite = createExecutorSuite(loadExecutorsConfig(env({ a: fleet.tenantId, b: tenantB.tenantId })), {
    tracer: trace.getTracer('security-test'),
    logger: createLogger({ name: 'security-test', level: 'silent' }),
  });
  const built = suite;
  const sql = fleet.db.handle.sql;
  return {
    fleet,
    suite: built,
    a: { key: fleet.apiKey, tenantId: fleet.tenantId },
    b: { key: tenantB.key, tenantId: tenantB.tenantId },
    async api(key, method, url, payload) {
      const response = await fleet.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}` },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
      return { status: response.statusCode, body: response.json(), text: response.body };
    },
    async rowsOf(runId) {
      const rows = [
        ...(await sql`select row_to_json(n) as r from node_runs n where run_id = ${runId}`),
        ...(await sql`select row_to_json(e) as r from event_logs e where run_id = ${runId}`),
        ...(await sql`select row_to_json(a) as r from agent_trace_history a where run_id = ${runId}`),
        ...(await sql`select row_to_json(m) as r from model_cost_logs m where run_id = ${runId}`),
        ...(await sql`select to_jsonb(r) - 'input' as r from runs r where id = ${runId}`),
      ];
      return JSON.stringify(rows);
    },
    async close() {
      await fleet.close();
      await built.close();
    },
  };
}
