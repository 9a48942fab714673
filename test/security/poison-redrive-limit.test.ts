import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import {
  createRedis,
  DeferredRunSpans,
  FleetMetrics,
  LeaderLock,
  NodeDispatcher,
  NodeQueues,
  NodeStateStore,
  Reconciler,
  type RedisConnection,
  RunControlStore,
  RunRepository,
  RunStopChannel,
  RunSubmitter,
  RunTerminator,
  WorkflowCatalog,
} from '@flowtrace/engine';
import { createLogger, noopDeferredSpanEmitter } from '@flowtrace/telemetry';
import { metrics as otelMetrics, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAX_REDRIVES = 2;

/**
 * The reconciler's bound on re-drives, against real Postgres and Redis with no workers consuming: each
 * "loss" is what a worker that claims a node and dies (or a job BullMQ gives up on) leaves behind, made
 * by hand so that the test decides when it happens. Before the bound, the reconciler re-drove such a node
 * every pass, forever.
 */
describe('the reconciler re-drives a node at most RECONCILER_MAX_REDRIVES times, then fails it', () => {
  let db: TestDatabase;
  let redis: RedisConnection;
  let queues: NodeQueues;
  let submitter: RunSubmitter;
  let reconciler: Reconciler;
  const prefix = `{ft-redrive-${randomUUID().slice(0, 8)}}`;
  const tenantId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.handle.sql`insert into tenants (id, name) values (${tenantId}, 'redrive-tenant')`;
    const tracer = trace.getTracer('test');
    const logger = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const metrics = new FleetMetrics(otelMetrics.getMeter('test'));
    redis = createRedis({ url: 'redis://127.0.0.1:6379', role: 'producer' });
    queues = new NodeQueues({ connection: redis, prefix });
    const dispatcher = new NodeDispatcher({ queues, tracer, metrics });
    const repository = new RunRepository({ sql: db.handle.sql, tracer });
    submitter = new RunSubmitter({ repository, dispatcher, deferredSpans: noopDeferredSpanEmitter, logger });
    const store = new RunControlStore({ sql: db.handle.sql, tracer });
    const catalog = new WorkflowCatalog({ sql: db.handle.sql });
    const runSpans = new DeferredRunSpans({ deferredSpans: noopDeferredSpanEmitter, metrics });
    const terminator = new RunTerminator({
      store,
      catalog,
      runSpans,
      stops: new RunStopChannel({ redis, prefix }),
      logger,
    });
    reconciler = new Reconciler(
      {
        store,
        leader: new LeaderLock(db.handle.session()),
        nodes: new NodeStateStore({ sql: db.handle.sql, tracer }),
        runSpans,
        terminator,
        catalog,
        queues,
        dispatcher,
        metrics,
        tracer,
        logger,
      },
      {
        intervalMs: 60_000,
        queuedGraceMs: 0,
        heartbeatStaleMs: 1_000,
        batchSize: 100,
        maxRedrives: MAX_REDRIVES,
      },
    );
  });
  afterAll(async () => {
    await queues?.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
    await db?.drop();
  });

  const submit = async (continueOnFailure: boolean) => {
    const result = await submitter.submit({
      tenantId,
      apiKeyId: null,
      workflow: {
        name: `redrive-${continueOnFailure}`,
        nodes: [
          { id: 'lost', type: 'connector', continueOnFailure, config: { url: 'https://target.example/x' } },
          {
            id: 'after',
            type: 'connector',
            dependsOn: ['lost'],
            config: { url: 'https://target.example/y' },
          },
        ],
      },
    });
    return result.runId;
  };
  const node = async (runId: string, nodeId: string) => {
    const [row] = await db.handle.sql`
      select status, attempt, redrives, job_id, error from node_runs where run_id = ${runId} and node_id = ${nodeId}`;
    return row as {
      status: string;
      attempt: number;
      redrives: number;
      job_id: string | null;
      error: unknown;
    };
  };
  const jobState = async (jobId: string | null) => {
    const job = jobId ? await queues.queue('connector').getJob(jobId) : undefined;
    return job ? job.getState() : 'missing';
  };
  /** What a worker that claimed the node and died leaves: no job, the node running, its heartbeat old. */
  const loseToDeadWorker = async (runId: string) => {
    const { job_id } = await node(runId, 'lost');
    await (await queues.queue('connector').getJob(job_id ?? ''))?.remove();
    await db.handle.sql`
      update node_runs set status = 'running', attempt = attempt + 1, started_at = now() - interval '1 hour',
             heartbeat_at = now() - interval '1 hour'
      where run_id = ${runId} and node_id = 'lost'`;
    await db.handle.sql`update runs set status = 'running' where id = ${runId}`;
  };
  /** A queued node whose job vanished from Redis (lost enqueue, Redis data loss). */
  const loseJob = async (runId: string) => {
    const { job_id } = await node(runId, 'lost');
    await (await queues.queue('connector').getJob(job_id ?? ''))?.remove();
  };

  it('fails a node lost with its worker again and again, and its run, after the limit', async () => {
    const runId = await submit(false);
    for (let i = 1; i <= MAX_REDRIVES; i++) {
      await loseToDeadWorker(runId);
      expect(await reconciler.tick()).toMatchObject({ led: true, redriven: 1, gaveUp: 0 });
      const lost = await node(runId, 'lost');
      expect(lost.redrives).toBe(i);
      expect(await jobState(lost.job_id)).toBe('waiting');
    }
    await loseToDeadWorker(runId);
    expect(await reconciler.tick()).toMatchObject({ redriven: 0, gaveUp: 1 });

    const lost = await node(runId, 'lost');
    expect(lost.status).toBe('failed');
    expect(lost.redrives).toBe(MAX_REDRIVES);
    expect(lost.error).toMatchObject({
      code: 'redrive_limit_exceeded',
      details: { redrives: MAX_REDRIVES, reason: 'worker_lost' },
    });
    expect(await jobState(lost.job_id)).toBe('missing');
    expect((await node(runId, 'after')).status).toBe('skipped');
    const [run] = await db.handle.sql`select status, error from runs where id = ${runId}`;
    expect(run).toMatchObject({
      status: 'failed',
      error: { code: 'redrive_limit_exceeded', nodeId: 'lost' },
    });
    const events = await db.handle.sql`
      select type, node_id, message, data, trace_id from event_logs where run_id = ${runId} order by seq`;
    const failed = events.find((e) => e.type === 'node.failed');
    expect(failed).toMatchObject({ node_id: 'lost', data: { error: { code: 'redrive_limit_exceeded' } } });
    expect(failed?.message).toMatch(/re-driven 2 times/);
    expect(events.map((e) => e.type)).toContain('run.failed');
    // The rows stay in the run's trace.
    const [runTrace] = await db.handle.sql`select trace_id from runs where id = ${runId}`;
    expect(new Set(events.map((e) => e.trace_id))).toEqual(new Set([runTrace?.trace_id]));
    // Nothing more to do, however often the reconciler looks again.
    expect(await reconciler.tick()).toMatchObject({ redriven: 0, gaveUp: 0 });
  });

  it('lets a continueOnFailure node that keeps losing its job fail on its own, and its successor go on', async () => {
    const runId = await submit(true);
    for (let i = 1; i <= MAX_REDRIVES; i++) {
      await loseJob(runId);
      expect(await reconciler.tick()).toMatchObject({ redriven: 1, gaveUp: 0 });
      expect((await node(runId, 'lost')).redrives).toBe(i);
    }
    await loseJob(runId);
    expect(await reconciler.tick()).toMatchObject({ redriven: 0, gaveUp: 1 });
    const lost = await node(runId, 'lost');
    expect(lost).toMatchObject({ status: 'failed', error: { code: 'redrive_limit_exceeded' } });
    expect((lost.error as { details: { reason: string } }).details.reason).toBe('job_missing');
    // The successor was made ready and enqueued; the run goes on.
    const after = await node(runId, 'after');
    expect(after.status).toBe('queued');
    expect(await jobState(after.job_id)).toBe('waiting');
    const [run] = await db.handle.sql`select status, nodes_finished from runs where id = ${runId}`;
    expect(run).toMatchObject({ status: 'running', nodes_finished: 1 });
  });
});
