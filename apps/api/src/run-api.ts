import { ApiKeyStore, buildApp, type IngestDocuments } from '@flowtrace/api';
import { createDatabase, type DatabaseHandle, openVectorDatabase } from '@flowtrace/db';
import {
  assertNoEviction,
  createRedis,
  DeferredRunSpans,
  FairQueueOrder,
  FleetMetrics,
  InflightGate,
  ingestionCalls,
  installShutdown,
  LeaderLock,
  type MeteredCallsDeps,
  ModelPriceStore,
  NodeDispatcher,
  NodeQueues,
  NodeStateStore,
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
  RunSpanGate,
  RunStopChannel,
  RunSubmitter,
  RunTerminator,
  SpendLedger,
  TenantLimitsStore,
  UsageReport,
  WorkflowCatalog,
} from '@flowtrace/engine';
import {
  createEmbedders,
  createPricingTable,
  type EmbeddingsConfig,
  ingestDocuments,
  type PricingTable,
  VectorStore,
} from '@flowtrace/executors';
import { createLogger } from '@flowtrace/telemetry';
import type { Telemetry } from '@flowtrace/telemetry/sdk';
import { metrics as otelMetrics, type Tracer, trace } from '@opentelemetry/api';
import type { ApiConfig } from './config.ts';
import { VERSION } from './version.ts';

/** Wires the API process: Postgres, Redis, the engine's submission side and the HTTP server. */
export async function runApi(config: ApiConfig, telemetry: Telemetry): Promise<void> {
  const logger = createLogger({
    name: 'flowtrace-api',
    level: config.LOG_LEVEL,
    base: { service: telemetry.serviceName },
  });
  const database = createDatabase({
    url: config.DATABASE_URL,
    maxConnections: config.DATABASE_POOL_MAX,
    prepare: config.DATABASE_PREPARE,
    applicationName: 'flowtrace-api',
  });
  const redis = createRedis({
    url: config.REDIS_URL,
    cluster: config.REDIS_CLUSTER,
    role: 'producer',
    connectionName: 'flowtrace-api',
  });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  await assertNoEviction(redis, (message) => logger.warn(message));

  const tracer = trace.getTracer('flowtrace-api', VERSION);
  const metrics = new FleetMetrics(otelMetrics.getMeter('flowtrace-api', VERSION));
  // Tenant budgets and quotas, and fair scheduling across tenants.
  const limits = new TenantLimitsStore({ sql: database.sql }, { cacheTtlMs: config.TENANT_LIMITS_CACHE_MS });
  const spend = new SpendLedger({ sql: database.sql, tracer });
  const order =
    config.QUEUE_ORDER === 'fair'
      ? new FairQueueOrder({ redis }, { prefix: config.QUEUE_PREFIX })
      : undefined;
  const queues = new NodeQueues({ connection: redis, prefix: config.QUEUE_PREFIX, order });
  // The API reports queue depth for the whole fleet (workers do not, or it would be counted many times).
  metrics.observeQueueDepth(() => queues.depths());
  const gate = new InflightGate({ sql: database.sql, limits, queues, metrics, logger });
  const dispatcher = new NodeDispatcher({ queues, tracer, metrics, gate });
  const repository = new RunRepository({
    sql: database.sql,
    tracer,
    // Group commit of concurrent submissions: runs accepted together are stored in one transaction.
    batching: { maxBatch: config.DATABASE_BATCH_MAX, maxInFlight: config.DATABASE_BATCH_IN_FLIGHT },
  });
  const admission = new RunAdmission({
    limits,
    spend,
    quotas: new RunQuotas({ redis, sql: database.sql }, { prefix: config.QUEUE_PREFIX }),
    metrics,
    logger,
  });
  const submitter = new RunSubmitter({
    repository,
    dispatcher,
    deferredSpans: telemetry.deferredSpans,
    metrics,
    logger,
    admission,
  });
  const catalog = new WorkflowCatalog({ sql: database.sql });
  const runSpans = new DeferredRunSpans({
    deferredSpans: telemetry.deferredSpans,
    metrics,
    gate: new RunSpanGate({ sql: database.sql, redis, prefix: config.QUEUE_PREFIX }),
  });
  // Writers of run events wake the live streams of every API process (Redis, one channel per run).
  const runEvents = new RedisRunEventNotifier({ redis, prefix: config.QUEUE_PREFIX, logger });
  const controlStore = new RunControlStore({ sql: database.sql, tracer, events: runEvents });
  const terminator = new RunTerminator({
    store: controlStore,
    catalog,
    runSpans,
    stops: new RunStopChannel({ redis, prefix: config.QUEUE_PREFIX }),
    logger,
    spanGraceMs: config.RUN_SPAN_GRACE_MS,
  });
  const reconciler = new Reconciler(
    {
      store: controlStore,
      leader: new LeaderLock(database.session()),
      nodes: new NodeStateStore({ sql: database.sql, tracer, events: runEvents }),
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
      intervalMs: config.RECONCILER_INTERVAL_MS,
      queuedGraceMs: config.RECONCILER_QUEUED_GRACE_MS,
      heartbeatStaleMs: config.RECONCILER_HEARTBEAT_STALE_MS,
      batchSize: 200,
      maxRedrives: config.RECONCILER_MAX_REDRIVES,
    },
  );
  const apiKeys = new ApiKeyStore({ sql: database.sql }, { cacheTtlMs: config.API_KEY_CACHE_TTL_MS });
  const vectorDatabase = await openVectorDatabase({
    databaseUrl: config.DATABASE_URL,
    vectorUrl: config.VECTOR_DATABASE_URL,
    maxConnections: config.VECTOR_DATABASE_POOL_MAX,
    prepare: config.DATABASE_PREPARE,
    applicationName: 'flowtrace-api',
    main: database,
  });
  if (!vectorDatabase) logger.warn('no vector store (pgvector tables missing): RAG ingestion answers 503');
  // Prices for ingestion's embedding calls: built-in, FLOWTRACE_PRICING, and the database's dated ones.
  const pricing = createPricingTable({ overrides: config.ingestion.pricing, logger });
  const stopPriceRefresh = await new ModelPriceStore({ sql: database.sql }).keepFresh(pricing, {
    intervalMs: 60_000,
    logger,
  });
  const ingest = vectorDatabase
    ? createIngestion(vectorDatabase, tracer, config.ingestion.embeddings, {
        pricing,
        admission,
        meter: { spend, limits, metrics, logger },
      })
    : undefined;

  const replayer = new RunReplayer({
    store: new ReplayStore({ sql: database.sql, tracer }),
    repository,
    dispatcher,
    deferredSpans: telemetry.deferredSpans,
    metrics,
    logger,
    admission,
  });
  const eventHub = new RunEventHub(
    { sql: database.sql, redis, prefix: config.QUEUE_PREFIX, logger },
    { sweepIntervalMs: config.EVENT_STREAM_SWEEP_MS },
  );
  const app = await buildApp(
    {
      repository,
      submitter,
      terminator,
      queries: new RunQueries({ sql: database.sql, tracer }),
      replayer,
      events: eventHub,
      apiKeys,
      logger,
      ingest,
      governance: { limits, spend, usage: new UsageReport({ sql: database.sql }) },
      otelPlugin: telemetry.fastifyPlugin,
      readiness: [
        { name: 'postgres', check: async () => void (await database.sql`select 1`) },
        { name: 'redis', check: async () => void (await redis.ping()) },
      ],
    },
    {
      signozUrl: config.SIGNOZ_URL,
      bodyLimit: config.BODY_LIMIT_BYTES,
      maxHeaderSize: config.MAX_HEADER_BYTES,
      streamHeartbeatMs: config.SSE_HEARTBEAT_MS,
      streamMaxPerTenant: config.SSE_MAX_STREAMS_PER_TENANT,
      version: VERSION,
    },
  );

  // Held nodes of tenants whose in-flight limit was raised (or whose release was lost) are let go.
  const stopSweeping = config.RECONCILER_ENABLED
    ? gate.startSweeping(config.RECONCILER_INTERVAL_MS)
    : async () => {};
  installShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      { name: 'http', run: () => app.close() },
      { name: 'event streams', run: () => eventHub.close() },
      { name: 'reconciler', run: () => reconciler.stop() },
      { name: 'held-nodes', run: () => stopSweeping() },
      { name: 'prices', run: async () => stopPriceRefresh() },
      { name: 'queues', run: () => queues.close() },
      { name: 'redis', run: () => redis.quit() },
      {
        name: 'postgres',
        run: () =>
          Promise.all([database.close(), vectorDatabase !== database ? vectorDatabase?.close() : undefined]),
      },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ],
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  if (config.RECONCILER_ENABLED) reconciler.start();
  logger.info({ address, version: VERSION }, 'API listening');
}

/**
 * RAG ingestion for `POST /v1/collections/:name/documents`, with the configured embedder. Its embedding
 * calls count against the tenant's budgets (refused up front when one is used up) and are recorded in
 * the ledger as they are answered.
 */
function createIngestion(
  vectorDatabase: DatabaseHandle,
  tracer: Tracer,
  embeddings: EmbeddingsConfig,
  governance: { pricing: PricingTable; admission: RunAdmission; meter: MeteredCallsDeps },
): IngestDocuments {
  const store = new VectorStore({ sql: vectorDatabase.sql, tracer });
  const embedders = createEmbedders(embeddings, { tracer });
  return async (tenantId, collection, body) => {
    await governance.admission.assertWithinBudget(tenantId, 'ingestion');
    return ingestDocuments(
      { store, embedders, tracer, pricing: governance.pricing },
      {
        tenantId,
        collection,
        ledger: ingestionCalls(governance.meter, tenantId),
        documents: body.documents,
        chunkSize: body.chunkSize,
        chunkOverlap: body.chunkOverlap,
      },
    );
  };
}
