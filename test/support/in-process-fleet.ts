import { randomUUID } from 'node:crypto';
import { ApiKeyStore, buildApp, type IngestDocuments } from '@flowtrace/api';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import {
  createRedis,
  DeferredRunSpans,
  ExecutorRegistry,
  FairQueueOrder,
  FleetMetrics,
  InflightGate,
  LeaderLock,
  NodeDispatcher,
  NodeProcessor,
  NodeQueues,
  NodeStateStore,
  NodeWorkerPool,
  Reconciler,
  RedisRunEventNotifier,
  ReplayStore,
  RunAdmission,
  RunControlStore,
  RunEventHub,
  RunQueries,
  RunQuotas,
  RunReplayer,
  RunRepository,
  RunSignals,
  RunSpanGate,
  RunStopChannel,
  RunSubmitter,
  RunTerminator,
  SpendLedger,
  TenantLimitsStore,
  UsageReport,
  WorkflowCatalog,
} from '@flowtrace/engine';
import { createLogger, type DeferredSpanEmitter } from '@flowtrace/telemetry';
import { NODE_TYPES, type NodeExecutor } from '@flowtrace/workflow';
import { metrics as otelMetrics, trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';

export interface InProcessFleet {
  readonly app: FastifyInstance;
  readonly db: TestDatabase;
  readonly apiKey: string;
  readonly tenantId: string;
  readonly prefix: string;
  readonly repository: RunRepository;
  /** Tenant limits (read without a cache, so a change applies to the next request). */
  readonly limits: TenantLimitsStore;
  readonly reconciler: Reconciler;
  /** The API's live event hub (what `/v1/runs/:id/events/stream` reads from). */
  readonly events: RunEventHub;
  /** Creates another tenant's key, for isolation tests. */
  createKey(tenant: string): Promise<string>;
  /** Polls the run API until the run is terminal. */
  waitForRun(runId: string, key?: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * The API and a worker pool in one process, over a real (per-test) Postgres database and real Redis with
 * a unique queue prefix. Tests supply the executors; everything else is the production code.
 */
export async function startInProcessFleet(options: {
  executors: NodeExecutor[];
  deferredSpans: DeferredSpanEmitter;
  workerOptions?: Partial<{ lockDurationMs: number; stalledIntervalMs: number; defaultTimeoutMs: number }>;
  /** Run the reconciler every 200 ms (queued grace 500 ms, heartbeat stale after 3 s). */
  reconciler?: boolean;
  /** The reconciler's re-drive limit per node (default 3). */
  maxRedrives?: number;
  /** How long the API caches a key lookup (API_KEY_CACHE_TTL_MS; default 30 s). */
  apiKeyCacheTtlMs?: number;
  /** RAG ingestion for `POST /v1/collections/:name/documents` (see test-ingestion.ts); 503 without. */
  ingest?: IngestDocuments;
  /** Another Redis (default: the shared one on 6379), e.g. a cluster. */
  redis?: { url: string; cluster?: boolean };
  /** Heartbeat of the API's event streams (default 15 s). */
  streamHeartbeatMs?: number;
  /** Event streams per tenant (default 1000). */
  streamMaxPerTenant?: number;
  /** How often a running node renews its heartbeat, and so notices its run has ended (default 500 ms). */
  heartbeatMs?: number;
  /** Whether workers hear a run's stop over Redis at once (default true); else only at their heartbeat. */
  stopChannel?: boolean;
  /** RUN_SPAN_GRACE_MS of the API and the workers (default 30 s). */
  runSpanGraceMs?: number;
}): Promise<InProcessFleet> {
  const db = await createTestDatabase({ maxConnections: 10 });
  const prefix = `{ft-test-${randomUUID().slice(0, 8)}}`;
  const logger = createLogger({ name: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const tracer = trace.getTracer('flowtrace-test');
  const redisUrl = options.redis?.url ?? 'redis://127.0.0.1:6379';
  const cluster = options.redis?.cluster ?? false;
  const producer = createRedis({ url: redisUrl, cluster, role: 'producer' });
  const workerConnection = createRedis({ url: redisUrl, cluster, role: 'worker' });
  const metrics = new FleetMetrics(otelMetrics.getMeter('flowtrace-test'));
  const limits = new TenantLimitsStore({ sql: db.handle.sql }, { cacheTtlMs: 0 });
  // Group commit as the apps have it by default, so the in-process tests cover batched writes.
  const batching = { maxBatch: 64, maxInFlight: 2 };
  const spend = new SpendLedger({ sql: db.handle.sql, tracer, batching });
  const order = new FairQueueOrder({ redis: producer }, { prefix });
  const queues = new NodeQueues({ connection: producer, prefix, order });
  const gate = new InflightGate({ sql: db.handle.sql, limits, queues, metrics, logger });
  const dispatcher = new NodeDispatcher({ queues, tracer, metrics, gate });
  const repository = new RunRepository({ sql: db.handle.sql, tracer, batching });
  const admission = new RunAdmission({
    limits,
    spend,
    quotas: new RunQuotas({ redis: producer, sql: db.handle.sql }, { prefix }),
    metrics,
    logger,
  });
  const submitter = new RunSubmitter({
    repository,
    dispatcher,
    deferredSpans: options.deferredSpans,
    metrics,
    logger,
    admission,
  });
  const apiKeys = new ApiKeyStore({ sql: db.handle.sql }, { cacheTtlMs: options.apiKeyCacheTtlMs ?? 30_000 });
  const catalog = new WorkflowCatalog({ sql: db.handle.sql });
  const runSpans = new DeferredRunSpans({
    deferredSpans: options.deferredSpans,
    metrics,
    gate: new RunSpanGate({ sql: db.handle.sql, redis: producer, prefix }),
  });
  const runEvents = new RedisRunEventNotifier({ redis: producer, prefix, logger });
  const controlStore = new RunControlStore({ sql: db.handle.sql, tracer, events: runEvents });
  const terminator = new RunTerminator({
    store: controlStore,
    catalog,
    runSpans,
    stops: new RunStopChannel({ redis: producer, prefix }),
    logger,
  });
  const nodeStore = new NodeStateStore({ sql: db.handle.sql, tracer, events: runEvents, batching });
  const reconciler = new Reconciler(
    {
      store: controlStore,
      leader: new LeaderLock(db.handle.session()),
      nodes: nodeStore,
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
      intervalMs: 200,
      queuedGraceMs: 500,
      heartbeatStaleMs: 3_000,
      batchSize: 100,
      maxRedrives: options.maxRedrives ?? 3,
    },
  );
  const events = new RunEventHub(
    { sql: db.handle.sql, redis: producer, prefix, logger },
    { sweepIntervalMs: 1_000 },
  );
  const replayer = new RunReplayer({
    store: new ReplayStore({ sql: db.handle.sql, tracer }),
    repository,
    dispatcher,
    deferredSpans: options.deferredSpans,
    metrics,
    logger,
    admission,
  });
  const app = await buildApp(
    {
      repository,
      submitter,
      terminator,
      queries: new RunQueries({ sql: db.handle.sql, tracer }),
      replayer,
      events,
      apiKeys,
      logger,
      readiness: [],
      ingest: options.ingest,
      governance: { limits, spend, usage: new UsageReport({ sql: db.handle.sql }) },
    },
    {
      signozUrl: 'http://signoz.test:8080',
      version: 'test',
      ...(options.streamHeartbeatMs ? { streamHeartbeatMs: options.streamHeartbeatMs } : {}),
      ...(options.streamMaxPerTenant ? { streamMaxPerTenant: options.streamMaxPerTenant } : {}),
    },
  );
  const signals = new RunSignals();
  const unsubscribe =
    options.stopChannel === false
      ? async () => {}
      : await RunStopChannel.subscribe({ redis: producer, prefix, signals, logger });
  const processor = new NodeProcessor(
    {
      store: nodeStore,
      catalog,
      executors: new ExecutorRegistry(options.executors),
      dispatcher,
      runSpans,
      signals,
      metrics,
      tracer,
      logger,
      spend,
      limits,
      stops: new RunStopChannel({ redis: producer, prefix }),
    },
    {
      defaultTimeoutMs: options.workerOptions?.defaultTimeoutMs ?? 30_000,
      maxOutputBytes: 1024 * 1024,
      heartbeatMs: options.heartbeatMs ?? 500,
      runSpanGraceMs: options.runSpanGraceMs,
    },
  );
  const pool = new NodeWorkerPool(
    { connection: workerConnection, processor, signals, metrics, logger, order, gate },
    {
      kinds: NODE_TYPES,
      concurrency: { llm: 8, agent: 8, connector: 8, rag: 8 },
      prefix,
      workerName: 'test-worker',
      lockDurationMs: options.workerOptions?.lockDurationMs ?? 30_000,
      stalledIntervalMs: options.workerOptions?.stalledIntervalMs ?? 30_000,
      maxStalledCount: 1,
    },
  );
  pool.start();
  await pool.waitUntilReady();
  if (options.reconciler) reconciler.start();
  const created = await apiKeys.create('tenant-a');

  const waitForRun = async (runId: string, key = created.key, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await app.inject({
        method: 'GET',
        url: `/v1/runs/${runId}`,
        headers: { authorization: `Bearer ${key}` },
      });
      const body = response.json();
      if (['completed', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline)
        throw new Error(`run ${runId} still ${body.status} after ${timeoutMs} ms: ${response.body}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  return {
    app,
    db,
    apiKey: created.key,
    tenantId: created.tenantId,
    prefix,
    repository,
    limits,
    createKey: async (tenant) => (await apiKeys.create(tenant)).key,
    waitForRun,
    reconciler,
    events,
    close: async () => {
      await reconciler.stop();
      await unsubscribe();
      await pool.close(5_000);
      await app.close();
      await events.close();
      await queues.close();
      // Remove this test's BullMQ keys (all in one hash slot, so one node holds them on a cluster too).
      if (!cluster) {
        const keys = await producer.keys(`${prefix}:*`);
        if (keys.length > 0) await producer.del(...keys);
      }
      await Promise.all([producer.quit(), workerConnection.quit()]);
      await db.drop();
    },
  };
}
