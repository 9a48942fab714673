import postgres from 'postgres';

export type Sql = postgres.Sql;

export interface DatabaseOptions {
  url: string;
  /** Connections in this process's pool. Many worker processes × pool size must fit the server's limit. */
  maxConnections?: number;
  /**
   * Named prepared statements. Turn off behind PgBouncer in transaction mode, which cannot keep a
   * prepared statement on the server connection a client happens to get next.
   */
  prepare?: boolean;
  applicationName?: string;
  /** Seconds an idle connection is kept. */
  idleTimeoutSeconds?: number;
  connectTimeoutSeconds?: number;
}

export interface DatabaseHandle {
  readonly sql: Sql;
  /**
   * A pool of one connection for session-scoped state (advisory locks), opened on first use and closed
   * with the handle. Its connection is never recycled or closed for idleness: a session lock lasts as long
   * as it. A pool of its own rather than a connection reserved from `sql`: postgres.js 3.4 writes to a
   * socket that no longer exists when a reserved connection whose backend has gone is queried or released
   * again, an uncaught exception that ends the process (porsager/postgres#1208), while a pool reconnects.
   */
  session(): Sql;
  close(): Promise<void>;
}

/**
 * Opens a postgres.js pool; the pool connects lazily and reconnects by itself. The engine's hot paths are
 * hand-written SQL (data-modifying CTEs, one round trip per step), so no Drizzle instance wraps this client:
 * Drizzle replaces the client's date and JSON serializers, which raw queries rely on. The Drizzle schema
 * still defines the tables and drives the migrations.
 */
export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const sql = postgres(options.url, {
    max: options.maxConnections ?? 10,
    prepare: options.prepare ?? true,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    // Connections are recycled so that a server-side failover or PgBouncer restart is picked up.
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'flowtrace' },
  });
  let session: Sql | undefined;
  return {
    sql,
    session: () => {
      session ??= postgres(options.url, {
        max: 1,
        prepare: options.prepare ?? true,
        idle_timeout: 0,
        max_lifetime: 0,
        connect_timeout: options.connectTimeoutSeconds ?? 10,
        onnotice: () => {},
        connection: { application_name: `${options.applicationName ?? 'flowtrace'}-session` },
      });
      return session;
    },
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), session?.end({ timeout: 5 })]);
    },
  };
}

/** Error codes of postgres.js and of Node's sockets that say the connection itself is gone. */
const CONNECTION_LOST_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Whether `error` says that the connection the query ran on is gone: closed or reset, or ended by the
 * server (a `FATAL` error such as `57P01`, terminating connection due to administrator command).
 */
export function isConnectionLost(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  return typeof code === 'string' && CONNECTION_LOST_CODES.has(code);
}

/** Postgres error codes and Node socket errors that mean "the server is (re)starting or unreachable". */
const TRANSIENT_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * Whether `error` is one a retry can outlive: Postgres restarting or unreachable, a lost connection, a
 * serialization failure or a deadlock.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}
