import { hostname } from 'node:os';
import { createDatabase, type DatabaseHandle, openVectorDatabase } from '@flowtrace/db';
import {
  assertNoEviction,
  createRedis,
  DeferredRunSpans,
  ExecutorRegistry,
  FairQueueOrder,
  FleetMetrics,
  InflightGate,
  installShutdown,
  ModelPriceStore,
  NodeDispatcher,
  NodeProcessor,
  NodeQueues,
  NodeStateStore,
  NodeWorkerPool,
  RedisRunEventNotifier,
  RunSignals,
  RunSpanGate,
  RunStopChannel,
  SpendLedger,
  TenantLimitsStore,
  WorkflowCatalog,
} from '@flowtrace/engine';
import { createExecutorSuite } from '@flowtrace/executors';
import { createLogger } from '@flowtrace/telemetry';
import type { Telemetry } from '@flowtrace/telemetry/sdk';
import { metrics as otelMetrics, trace } from '@opentelemetry/api';
import type { WorkerConfig } from './config.ts';
import { failpointHook } from './failpoint.ts';
import { VERSION } from './version.ts';

/** Wires a worker process: the queues of its node types, the engine's node processor, and the executors. */
export async function runWorker(config: WorkerConfig, telemetry: Telemetry): Promise<void> {
  const logger = createLogger({
    name: 'flowtrace-worker',
    level: config.LOG_LEVEL,
    base: { service: telemetry.serviceName, kinds: config.kinds.join(',') },
  });
  const database = createDatabase({
    url: config.DATABASE_URL,
    maxConnections: config.DATABASE_POOL_MAX,
    prepare: config.DATABASE_PREPARE,
    applicationName: telemetry.serviceName,
  });
  // rag nodes need the vector store; agents use it for rag tools when it is there.
  let vectorDatabase: DatabaseHandle | undefined;
  if (config.kinds.includes('rag') || config.kinds.includes('agent')) {
    vectorDatabase = await openVectorDatabase({
      databaseUrl: config.DATABASE_URL,
      vectorUrl: config.VECTOR_DATABASE_URL,
      maxConnections: config.VECTOR_DATABASE_POOL_MAX,
      prepare: config.DATABASE_PREPARE,
      applicationName: telemetry.serviceName,
      main: database,
    });
    if (!vectorDatabase && config.kinds.includes('rag')) {
      throw new Error(
        'rag workers need the vector store: point VECTOR_DATABASE_URL at a Postgres with pgvector and run ' +
          '`npm run db:migrate`, or start this worker with --kinds that leave out rag',
      );
    }
  }

  const tracer = trace.getTracer('flowtrace-worker', VERSION);
  const meter = otelMetrics.getMeter('flowtrace-worker', VERSION);
  const catalog = new WorkflowCatalog({ sql: database.sql });
  const suite = createExecutorSuite(config.executors, {
    tracer,
    meter,
    logger,
    resolvePrompt: (ref) => catalog.llmNode(ref),
    // Without the SDK no instrumentation injects trace headers into outgoing requests: the clients do.
    propagateTraceContext: !telemetry.enabled,
    ...(vectorDatabase ? { vectorSql: vectorDatabase.sql } : {}),
  });

  // Dated prices from the database override the built-in ones and FLOWTRACE_PRICING from their date on.
  const stopPriceRefresh = await new ModelPriceStore({ sql: database.sql }).keepFresh(suite.pricing, {
    intervalMs: 60_000,
    logger,
  });

  const producer = createRedis({
    url: config.REDIS_URL,
    cluster: config.REDIS_CLUSTER,
    role: 'producer',
    connectionName: `${telemetry.serviceName}-producer`,
  });
  const consumer = createRedis({
    url: config.REDIS_URL,
    cluster: config.REDIS_CLUSTER,
    role: 'worker',
    connectionName: telemetry.serviceName,
  });
  for (const redis of [producer, consumer])
    redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  await assertNoEviction(consumer, (message) => logger.warn(message));

  const metrics = new FleetMetrics(meter);
  const limits = new TenantLimitsStore({ sql: database.sql }, { cacheTtlMs: config.TENANT_LIMITS_CACHE_MS });
  const order =
    config.QUEUE_ORDER === 'fair'
      ? new FairQueueOrder({ redis: producer }, { prefix: config.QUEUE_PREFIX })
      : undefined;
  const queues = new NodeQueues({ connection: producer, prefix: config.QUEUE_PREFIX, order });
  const gate = new InflightGate({ sql: database.sql, limits, queues, metrics, logger });
  const dispatcher = new NodeDispatcher({ queues, tracer, metrics, gate });
  const signals = new RunSignals();
  const unsubscribe = await RunStopChannel.subscribe({
    redis: producer,
    prefix: config.QUEUE_PREFIX,
    signals,
    logger,
  });
  // Group commit of the per-node writes (claims, outcomes, model calls) of this process's concurrent jobs.
  const batching = { maxBatch: config.DATABASE_BATCH_MAX, maxInFlight: config.DATABASE_BATCH_IN_FLIGHT };
  const processor = new NodeProcessor(
    {
      store: new NodeStateStore({
        sql: database.sql,
        tracer,
        batching,
        // Wakes the API processes that stream this run's events.
        events: new RedisRunEventNotifier({ redis: producer, prefix: config.QUEUE_PREFIX, logger }),
      }),
      catalog,
      executors: new ExecutorRegistry(suite.executors.filter((e) => config.kinds.includes(e.type))),
      dispatcher,
      runSpans: new DeferredRunSpans({
        deferredSpans: telemetry.deferredSpans,
        metrics,
        gate: new RunSpanGate({ sql: database.sql, redis: producer, prefix: config.QUEUE_PREFIX }),
      }),
      signals,
      metrics,
      tracer,
      logger,
      spend: new SpendLedger({ sql: database.sql, tracer, batching }),
      limits,
      stops: new RunStopChannel({ redis: producer, prefix: config.QUEUE_PREFIX }),
    },
    {
      defaultTimeoutMs: config.NODE_TIMEOUT_MS,
      maxOutputBytes: config.NODE_MAX_OUTPUT_BYTES,
      heartbeatMs: config.NODE_HEARTBEAT_MS,
      onCommitted: failpointHook(config.FLOWTRACE_FAILPOINT, logger),
      runSpanGraceMs: config.RUN_SPAN_GRACE_MS,
    },
  );
  const pool = new NodeWorkerPool(
    { connection: consumer, processor, signals, metrics, logger, order, gate },
    {
      kinds: config.kinds,
      concurrency: config.concurrency,
      prefix: config.QUEUE_PREFIX,
      workerName: `${hostname()}:${process.pid}`,
      lockDurationMs: config.BULLMQ_LOCK_DURATION_MS,
      stalledIntervalMs: config.BULLMQ_STALLED_INTERVAL_MS,
      maxStalledCount: config.BULLMQ_MAX_STALLED_COUNT,
    },
  );

  installShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      {
        name: 'workers',
        run: async () => {
          const { graceful } = await pool.close(config.SHUTDOWN_DRAIN_MS);
          logger.info(
            { graceful },
            graceful ? 'in-flight nodes finished' : 'in-flight nodes aborted and released',
          );
        },
      },
      { name: 'run-stops', run: () => unsubscribe() },
      { name: 'queues', run: () => queues.close() },
      { name: 'redis', run: () => Promise.all([producer.quit(), consumer.quit()]) },
      { name: 'executors', run: () => suite.close() },
      { name: 'prices', run: async () => stopPriceRefresh() },
      {
        name: 'postgres',
        run: () =>
          Promise.all([database.close(), vectorDatabase !== database ? vectorDatabase?.close() : undefined]),
      },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ],
  });
  pool.start();
  await pool.waitUntilReady();
  logger.info({ kinds: config.kinds, concurrency: config.concurrency, version: VERSION }, 'worker ready');
}
