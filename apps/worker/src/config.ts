import { configError, infrastructureEnv } from '@flowtrace/engine/config';
import {
  EXECUTORS_ENV_KEYS,
  type ExecutorsConfig,
  type ExecutorsEnvKey,
  executorsConfigFromEnv,
  executorsEnv,
} from '@flowtrace/executors/config';
import { NODE_TYPES, type NodeType } from '@flowtrace/workflow';
import { z } from 'zod';

const nodeTypes = z
  .string()
  .default(NODE_TYPES.join(','))
  .transform((value) =>
    value
      .split(',')
      .map((kind) => kind.trim())
      .filter((kind) => kind.length > 0),
  )
  .pipe(
    z
      .array(
        z.enum(NODE_TYPES as [NodeType, ...NodeType[]], {
          error: `must be node types from: ${NODE_TYPES.join(', ')}`,
        }),
      )
      .min(1, 'name at least one node type'),
  );

const concurrency = z.coerce.number().int().min(1).max(1_000);

const workerEnvSchema = z.object({
  ...infrastructureEnv,
  /** Providers, prices, content capture, SSRF allow-lists, credentials, the embedder (docs/configuration.md). */
  ...executorsEnv,
  /** Node types this process consumes (`--kinds` wins). One fleet per type scales on its own. */
  WORKER_KINDS: nodeTypes,
  /** Jobs run at once per node type; LLM and connector nodes mostly wait on I/O, so this can be high. */
  WORKER_CONCURRENCY: concurrency.default(16),
  WORKER_CONCURRENCY_LLM: concurrency.optional(),
  WORKER_CONCURRENCY_AGENT: concurrency.optional(),
  WORKER_CONCURRENCY_CONNECTOR: concurrency.optional(),
  WORKER_CONCURRENCY_RAG: concurrency.optional(),
  /** Per-attempt limit for nodes that set no `timeoutMs`. */
  NODE_TIMEOUT_MS: z.coerce.number().int().min(1).default(300_000),
  /** Largest node output stored in Postgres, in bytes of JSON. */
  NODE_MAX_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .default(1024 * 1024),
  /** BullMQ lock: a job whose worker stops renewing it for this long is considered stalled. */
  BULLMQ_LOCK_DURATION_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** How often this worker checks for stalled jobs (those of crashed workers) and re-queues them. */
  BULLMQ_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  /** Re-deliveries of a stalled job before BullMQ fails it (the reconciler still re-drives the node). */
  BULLMQ_MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(1),
  /**
   * How often a running node renews its heartbeat in Postgres. The reconciler re-drives a node whose
   * heartbeat is older than its RECONCILER_HEARTBEAT_STALE_MS, so keep this well below that.
   */
  NODE_HEARTBEAT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Test-only failure injection (`exit-after-commit:<nodeId>`); never set it in production. */
  FLOWTRACE_FAILPOINT: z
    .string()
    .regex(/^exit-after-commit:[A-Za-z][A-Za-z0-9_-]*$/, 'must be exit-after-commit:<nodeId>')
    .optional(),
  /** On SIGTERM, how long in-flight nodes may run before they are aborted and released. */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(20_000),
});

/** Every variable the worker's schema reads; deployment files are checked against it. */
export const WORKER_ENV_KEYS: readonly string[] = Object.keys(workerEnvSchema.shape);

export type WorkerConfig = Omit<z.infer<typeof workerEnvSchema>, ExecutorsEnvKey> & {
  kinds: NodeType[];
  concurrency: Record<NodeType, number>;
  /** The executors' options, from their variables (which the rest of the config leaves out). */
  executors: ExecutorsConfig;
};

/** Parses the worker's configuration; `kinds` from `--kinds` overrides `WORKER_KINDS`. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv, kindsArg?: string): WorkerConfig {
  const parsed = workerEnvSchema.safeParse(kindsArg === undefined ? env : { ...env, WORKER_KINDS: kindsArg });
  if (!parsed.success) throw configError('worker', parsed.error);
  const c = parsed.data;
  const own = Object.fromEntries(
    Object.entries(c).filter(([key]) => !(EXECUTORS_ENV_KEYS as readonly string[]).includes(key)),
  ) as Omit<typeof c, ExecutorsEnvKey>;
  return {
    ...own,
    executors: executorsConfigFromEnv(c),
    kinds: [...new Set(c.WORKER_KINDS)],
    concurrency: {
      llm: c.WORKER_CONCURRENCY_LLM ?? c.WORKER_CONCURRENCY,
      agent: c.WORKER_CONCURRENCY_AGENT ?? c.WORKER_CONCURRENCY,
      connector: c.WORKER_CONCURRENCY_CONNECTOR ?? c.WORKER_CONCURRENCY,
      rag: c.WORKER_CONCURRENCY_RAG ?? c.WORKER_CONCURRENCY,
    },
  };
}
