import { z } from 'zod';

/** Boolean environment values: `true/false`, `1/0`, `yes/no` (anything else is an error, not false). */
export const envBoolean = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'TRUE');

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL with protocol ${protocols.join(' or ')}`,
  );

/**
 * Settings every fleet process shares: where Postgres and Redis are, and how connections behave. Each
 * app's own schema spreads these in.
 */
export const infrastructureEnv = {
  /** The system of record for runs and nodes. */
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/flowtrace'),
  /** Connections per process; all processes together must stay under the server's (or PgBouncer's) limit. */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Set false behind PgBouncer in transaction mode, which cannot keep prepared statements. */
  DATABASE_PREPARE: envBoolean.default(true),
  /**
   * Group commit: claims, node outcomes and new runs that arrive while earlier ones are being written are
   * committed together, up to this many per transaction (1: each on its own). Fewer commits per node is
   * what keeps Postgres from being the fleet's ceiling.
   */
  DATABASE_BATCH_MAX: z.coerce.number().int().min(1).max(1_000).default(64),
  /** Batches of one kind being written at once per process; more writes wait and go in the next one. */
  DATABASE_BATCH_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(2),
  /** The vector store (pgvector) for RAG collections; the main database when unset. */
  VECTOR_DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  VECTOR_DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(5),
  /** The transport for node jobs. Its maxmemory-policy must be noeviction. */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine(
      (value) => value.split(',').every((seed) => url(['redis:', 'rediss:']).safeParse(seed.trim()).success),
      'must be a redis:// or rediss:// URL (in cluster mode, a comma-separated list of seed nodes)',
    ),
  /** Redis Cluster (or cluster-mode managed Redis). Queue keys share the QUEUE_PREFIX hash tag. */
  REDIS_CLUSTER: envBoolean.default(false),
  /**
   * Prefix of every BullMQ key. The braces make it a Redis Cluster hash tag, so each queue's keys land
   * in one slot, as BullMQ requires on a cluster.
   */
  QUEUE_PREFIX: z.string().min(1).max(64).default('{flowtrace}'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Tenant limits are cached this long in each process: a change takes effect within it. */
  TENANT_LIMITS_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(2_000),
  /**
   * How node queues order jobs across tenants: `fair` (a tenant's job is ranked by how many of its jobs
   * already wait, so one tenant's backlog cannot delay another's jobs) or `fifo`. Every process of a
   * fleet must use the same setting.
   */
  QUEUE_ORDER: z.enum(['fair', 'fifo']).default('fair'),
  /**
   * When a run ends while nodes of it are still running (cancelled, timed out, or failed by one node), its
   * `invoke_workflow` span waits for them to stop; after this long the process that ended the run records
   * it anyway (a worker died, or a node finished without noticing the stop).
   */
  RUN_SPAN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
} as const;

/** Formats a config parse failure as one line per variable. */
export function configError(app: string, error: z.ZodError): Error {
  const lines = error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
  return new Error(`invalid ${app} configuration:\n${lines.join('\n')}`);
}
