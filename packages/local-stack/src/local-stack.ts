import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKeyStore } from '@flowtrace/api';
import { createDatabase, type EmbeddedPostgres, migrateAll, startEmbeddedPostgres } from '@flowtrace/db';
import { OtlpReceiver } from '@flowtrace/telemetry/receiver';
import type { NodeType } from '@flowtrace/workflow';
import { Redis } from 'ioredis';
import { ManagedProcess } from './managed-process.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface WorkerSpec {
  kinds: readonly NodeType[];
  /** Extra environment for this worker only. */
  env?: Record<string, string>;
}

export interface LocalStackOptions {
  /** Where process logs (and the embedded database, when persisted) go. */
  dataDir: string;
  redisUrl?: string;
  /** A Postgres server; when absent an embedded PGlite (with pgvector) is started. */
  databaseUrl?: string;
  /**
   * The vector store (pgvector) when it is not the main database, e.g. an embedded PGlite beside a Postgres
   * server that has no pgvector.
   */
  vectorDatabaseUrl?: string;
  /** Keep the embedded database on disk under `dataDir` between runs (default: in memory). */
  persistEmbeddedDatabase?: boolean;
  /** An OTLP/HTTP endpoint (a collector); when absent a local receiver collects the spans. */
  otlpEndpoint?: string;
  /** Worker processes; default one per node type. */
  workers?: readonly WorkerSpec[];
  /** Environment for every process (executors' settings, sampling, ...). */
  env?: Record<string, string>;
  /** BullMQ key prefix; a fresh one per stack by default so stacks never share queues. */
  queuePrefix?: string;
  tenant?: string;
  startupTimeoutMs?: number;
  /** Reports progress (for the CLI). */
  onProgress?: (message: string) => void;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly tenantId: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  /** The local OTLP receiver, when no endpoint was given. */
  readonly receiver: OtlpReceiver | undefined;
  readonly api: ManagedProcess;
  readonly workers: ManagedProcess[];
  /** Starts one more worker process (for scaling and fault tests). */
  startWorker(spec: WorkerSpec, name?: string): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/** Thrown when a prerequisite is missing, with what to do about it. */
export class StackError extends Error {
  override name = 'StackError';
}

async function assertRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new StackError(
      `no Redis at ${url} (${(error as Error).message}). Start one: \`redis-server --daemonize yes\` ` +
        '(Debian/Ubuntu: `apt-get install redis-server`), or `docker run -p 6379:6379 redis:7`, or set REDIS_URL.',
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * The local stack of the brief: the API and one worker process per node type, as separate processes, on
 * Redis and Postgres (an embedded PGlite with pgvector when no server is given), exporting telemetry to a
 * collector or to an in-process OTLP receiver. Used by `npm start`, the end-to-end tests and the benchmarks.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const progress = options.onProgress ?? (() => {});
  const redisUrl = options.redisUrl ?? 'redis://127.0.0.1:6379';
  const timeoutMs = options.startupTimeoutMs ?? 60_000;
  const cleanup: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    await assertRedis(redisUrl);

    let embedded: EmbeddedPostgres | undefined;
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      progress('starting embedded Postgres (PGlite with pgvector)');
      embedded = await startEmbeddedPostgres({
        ...(options.persistEmbeddedDatabase ? { dataDir: path.join(options.dataDir, 'pglite') } : {}),
      });
      const stopEmbedded = embedded;
      cleanup.push(() => stopEmbedded.stop());
      databaseUrl = embedded.url;
    }
    progress('applying migrations');
    const migrated = await migrateAll({
      databaseUrl,
      ...(options.vectorDatabaseUrl ? { vectorUrl: options.vectorDatabaseUrl } : {}),
    });
    if (!migrated.vector) progress('no pgvector on this Postgres: rag nodes and ingestion are unavailable');

    const admin = createDatabase({ url: databaseUrl, maxConnections: 1, prepare: false });
    const key = await new ApiKeyStore({ sql: admin.sql }).create(options.tenant ?? 'local', 'local stack');
    await admin.close();

    let receiver: OtlpReceiver | undefined;
    let otlpEndpoint = options.otlpEndpoint;
    if (!otlpEndpoint) {
      receiver = await OtlpReceiver.start();
      const started = receiver;
      cleanup.push(() => started.close());
      otlpEndpoint = receiver.endpoint;
    }

    const queuePrefix = options.queuePrefix ?? `{flowtrace-${randomUUID().slice(0, 8)}}`;
    const baseEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: process.env.NODE_ENV,
      DATABASE_URL: databaseUrl,
      ...(options.vectorDatabaseUrl ? { VECTOR_DATABASE_URL: options.vectorDatabaseUrl } : {}),
      // An embedded PGlite serves every connection from one backend session: no named prepared statements.
      ...(embedded || options.vectorDatabaseUrl ? { DATABASE_PREPARE: 'false' } : {}),
      ...(embedded ? { DATABASE_POOL_MAX: '4' } : {}),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: queuePrefix,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
      OTEL_BSP_SCHEDULE_DELAY: '500',
      OTEL_METRIC_EXPORT_INTERVAL: '5000',
      ...options.env,
    };

    const processes: ManagedProcess[] = [];
    cleanup.push(() => Promise.all(processes.map((p) => p.stop())));
    const logFile = (name: string) => path.join(options.dataDir, 'logs', `${name}.log`);

    progress('starting the API');
    const api = await ManagedProcess.start({
      name: 'api',
      script: path.join(ROOT, 'apps/api/src/main.ts'),
      env: { ...baseEnv, PORT: '0', HOST: '127.0.0.1' },
      logFile: logFile('api'),
      cwd: ROOT,
    });
    processes.push(api);
    const listening = await api.waitForLine(/"msg":"API listening"/, timeoutMs);
    const address = (JSON.parse(listening) as { address: string }).address;

    let workerCount = 0;
    const startWorker = async (spec: WorkerSpec, name?: string): Promise<ManagedProcess> => {
      workerCount += 1;
      const workerName = name ?? `worker-${spec.kinds.join('-')}-${workerCount}`;
      const worker = await ManagedProcess.start({
        name: workerName,
        script: path.join(ROOT, 'apps/worker/src/main.ts'),
        args: ['--kinds', spec.kinds.join(',')],
        env: { ...baseEnv, ...spec.env },
        logFile: logFile(workerName),
        cwd: ROOT,
      });
      processes.push(worker);
      await worker.waitForLine(/"msg":"worker ready"/, timeoutMs);
      return worker;
    };
    const specs =
      options.workers ?? (['llm', 'agent', 'connector', 'rag'] as const).map((kind) => ({ kinds: [kind] }));
    const usable = migrated.vector ? specs : specs.filter((s) => !s.kinds.includes('rag'));
    progress(`starting ${usable.length} worker processes`);
    const workers = await Promise.all(usable.map((spec) => startWorker(spec)));

    return {
      apiUrl: address,
      apiKey: key.key,
      tenantId: key.tenantId,
      databaseUrl,
      redisUrl,
      queuePrefix,
      receiver,
      api,
      workers,
      startWorker,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
