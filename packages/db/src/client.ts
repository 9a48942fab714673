import postgres from 'postgres';

export type Sql = postgres.Sql;
export type Transaction = postgres.TransactionSql;

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
  return { sql, close: () => sql.end({ timeout: 5 }) };
}
