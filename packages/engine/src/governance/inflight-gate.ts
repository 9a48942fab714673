import { type Sql, type Transaction, transaction } from '@flowtrace/db';
import type { Logger } from '@flowtrace/workflow';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { NodeJob, NodeQueues } from '../queue/node-queues.ts';
import type { TenantLimitsStore } from './tenant-limits.ts';

export interface InflightGateDeps {
  sql: Sql;
  limits: TenantLimitsStore;
  /** Where released nodes are enqueued. */
  queues: NodeQueues;
  metrics?: FleetMetrics | undefined;
  logger?: Logger | undefined;
}

interface HeldRow {
  job: NodeJob;
}

/**
 * Locks the rows of the jobs' runs, in ascending id order, before their nodes' rows are written: the lock
 * order of every writer of a run (a batch of outcomes, a cancel), so that a gate decision touching nodes of
 * several runs never waits on one of them in a cycle.
 */
async function lockRuns(tx: Transaction, jobs: readonly NodeJob[]): Promise<void> {
  const runIds = [...new Set(jobs.map((j) => j.data.runId))];
  await tx`select id from runs where id = any(${runIds}::uuid[]) order by id for no key update`;
}

/**
 * The per-tenant cap on nodes in flight (`maxInflightNodes`: handed to the queues and not finished).
 * Ready nodes past the cap are held in Postgres (`held_nodes`, the prepared job) instead of being
 * enqueued, and released oldest first as the tenant's nodes finish, so one tenant's backlog never fills
 * the queues ahead of another's. Each decision runs under a per-tenant advisory lock, against
 * `inflight_nodes`; rows of nodes that ended without giving their slot back (a crash) are pruned against
 * `node_runs`. A tenant without the limit is not looked at.
 */
export class InflightGate {
  readonly #deps: InflightGateDeps;

  constructor(deps: InflightGateDeps) {
    this.#deps = deps;
  }

  /**
   * The jobs to enqueue now: those of tenants without the limit, and for the others as many as their free
   * slots allow, their earlier held nodes first. The rest are held.
   */
  async admit(jobs: readonly NodeJob[]): Promise<NodeJob[]> {
    if (jobs.length === 0) return [];
    const byTenant = new Map<string, NodeJob[]>();
    for (const job of jobs)
      byTenant.set(job.data.tenantId, [...(byTenant.get(job.data.tenantId) ?? []), job]);
    const send: NodeJob[] = [];
    for (const [tenantId, group] of byTenant) {
      const cap = (await this.#deps.limits.effective(tenantId)).maxInflightNodes;
      if (cap === null) send.push(...group);
      else send.push(...(await this.#admitCapped(tenantId, cap, group)));
    }
    return send;
  }

  /** A node of the tenant finished for good: frees its slot and enqueues the held nodes that now fit. */
  async nodeDone(tenantId: string, runId: string, nodeId: string): Promise<void> {
    const cap = (await this.#deps.limits.effective(tenantId)).maxInflightNodes;
    if (cap === null) return;
    const released = await this.#locked(tenantId, async (tx) => {
      await tx`delete from inflight_nodes where run_id = ${runId} and node_id = ${nodeId}`;
      return this.#release(tx, tenantId, cap);
    });
    await this.#enqueue(released);
  }

  /**
   * Releases what fits for every tenant with held nodes (after a limit was raised or removed, or a release
   * was lost with its worker). The API runs it periodically.
   */
  async sweep(): Promise<number> {
    const tenants = await this.#deps.sql<{ tenant_id: string }[]>`select distinct tenant_id from held_nodes`;
    let released = 0;
    for (const { tenant_id: tenantId } of tenants) {
      const cap = (await this.#deps.limits.effective(tenantId)).maxInflightNodes;
      const jobs = await this.#locked(tenantId, (tx) => this.#release(tx, tenantId, cap));
      await this.#enqueue(jobs);
      released += jobs.length;
    }
    return released;
  }

  /** Sweeps every `intervalMs` until the returned function is called (which waits for a sweep under way). */
  startSweeping(intervalMs: number): () => Promise<void> {
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      if (running) return;
      running = this.sweep()
        .catch((error: unknown) => this.#deps.logger?.warn({ err: error }, 'held-node sweep failed'))
        .finally(() => {
          running = undefined;
        });
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  async #admitCapped(tenantId: string, cap: number, group: NodeJob[]): Promise<NodeJob[]> {
    const outcome = await this.#locked(tenantId, async (tx) => {
      // A node that already holds a slot (a re-drive of a lost job) goes through.
      const holding = await tx<{ node_key: string }[]>`
        select run_id || '/' || node_id as node_key from inflight_nodes
        where tenant_id = ${tenantId}
          and (run_id, node_id) in (select * from unnest(${group.map((j) => j.data.runId)}::uuid[], ${group.map((j) => j.data.nodeId)}::text[]))`;
      const held = new Set(holding.map((r) => r.node_key));
      const again = group.filter((j) => held.has(`${j.data.runId}/${j.data.nodeId}`));
      const fresh = group.filter((j) => !held.has(`${j.data.runId}/${j.data.nodeId}`));
      if (fresh.length === 0) return { send: again, held: 0 };
      const [state] = await tx<{ inflight: number; waiting: boolean }[]>`
        select (select count(*)::int from inflight_nodes where tenant_id = ${tenantId}) as inflight,
               exists (select 1 from held_nodes where tenant_id = ${tenantId}) as waiting`;
      if (state && !state.waiting && state.inflight + fresh.length <= cap) {
        await this.#markInflight(tx, tenantId, fresh);
        return { send: [...again, ...fresh], held: 0 };
      }
      // Behind the nodes already waiting: hold them all, then release the oldest that fit.
      await tx`
        insert into held_nodes (run_id, node_id, tenant_id, job)
        select * from jsonb_to_recordset(${tx.json(
          fresh.map((j) => ({
            run_id: j.data.runId,
            node_id: j.data.nodeId,
            tenant_id: tenantId,
            job: j,
          })) as never,
        )}) as h(run_id uuid, node_id text, tenant_id uuid, job jsonb)
        on conflict do nothing`;
      // Held nodes stay `queued` with no `queued_at`: the reconciler only re-drives queued nodes by age.
      await lockRuns(tx, fresh);
      await tx`
        update node_runs set queued_at = null
        from unnest(${fresh.map((j) => j.data.runId)}::uuid[], ${fresh.map((j) => j.data.nodeId)}::text[]) as f(run_id, node_id)
        where node_runs.run_id = f.run_id and node_runs.node_id = f.node_id and node_runs.status = 'queued'`;
      const released = await this.#release(tx, tenantId, cap);
      const releasedKeys = new Set(released.map((j) => `${j.data.runId}/${j.data.nodeId}`));
      return {
        send: [...again, ...released],
        held: fresh.filter((j) => !releasedKeys.has(`${j.data.runId}/${j.data.nodeId}`)).length,
      };
    });
    this.#deps.metrics?.nodesHeld(tenantId, outcome.held);
    return outcome.send;
  }

  /** Moves the oldest held nodes that fit under `cap` (all, without a cap) to in flight; returns their jobs. */
  async #release(tx: Transaction, tenantId: string, cap: number | null): Promise<NodeJob[]> {
    // Nodes of runs that ended while held are dropped.
    await tx`
      delete from held_nodes h using runs r
      where h.tenant_id = ${tenantId} and r.id = h.run_id and r.status not in ('queued', 'running')`;
    let free = Number.MAX_SAFE_INTEGER;
    if (cap !== null) {
      free = cap - (await this.#inflight(tx, tenantId));
      if (free <= 0) {
        await this.#prune(tx, tenantId);
        free = cap - (await this.#inflight(tx, tenantId));
      }
      if (free <= 0) return [];
    }
    const rows = await tx<HeldRow[]>`
      delete from held_nodes
      where (run_id, node_id) in (
        select run_id, node_id from held_nodes where tenant_id = ${tenantId}
        order by held_at, run_id, node_id limit ${Math.min(free, 10_000)})
      returning job`;
    const jobs = rows.map((r) => r.job);
    if (jobs.length === 0) return [];
    if (cap !== null) await this.#markInflight(tx, tenantId, jobs);
    await lockRuns(tx, jobs);
    await tx`
      update node_runs set queued_at = now()
      from unnest(${jobs.map((j) => j.data.runId)}::uuid[], ${jobs.map((j) => j.data.nodeId)}::text[]) as f(run_id, node_id)
      where node_runs.run_id = f.run_id and node_runs.node_id = f.node_id and node_runs.status = 'queued'`;
    return jobs;
  }

  async #inflight(tx: Transaction, tenantId: string): Promise<number> {
    const [row] = await tx<{ n: number }[]>`
      select count(*)::int as n from inflight_nodes where tenant_id = ${tenantId}`;
    return row?.n ?? 0;
  }

  /** Frees the slots of nodes that ended without giving theirs back. */
  async #prune(tx: Transaction, tenantId: string): Promise<void> {
    await tx`
      delete from inflight_nodes i using node_runs n
      where i.tenant_id = ${tenantId} and n.run_id = i.run_id and n.node_id = i.node_id
        and n.status not in ('queued', 'running')`;
  }

  async #markInflight(tx: Transaction, tenantId: string, jobs: readonly NodeJob[]): Promise<void> {
    await tx`
      insert into inflight_nodes (run_id, node_id, tenant_id)
      select run_id, node_id, ${tenantId}::uuid
      from unnest(${jobs.map((j) => j.data.runId)}::uuid[], ${jobs.map((j) => j.data.nodeId)}::text[]) as f(run_id, node_id)
      on conflict do nothing`;
  }

  #locked<T>(tenantId: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return transaction(this.#deps.sql, async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended(${`flowtrace.inflight.${tenantId}`}, 0))`;
      return fn(tx);
    }) as Promise<T>;
  }

  async #enqueue(jobs: NodeJob[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      await this.#deps.queues.addAll(jobs);
    } catch (error) {
      // They are queued in Postgres with a queued_at again: the reconciler enqueues them.
      this.#deps.logger?.warn({ err: error, count: jobs.length }, 'could not enqueue released nodes');
    }
  }
}
