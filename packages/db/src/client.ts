import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as core from './schema/core.ts';

export type Sql = postgres.Sql;
export type Transaction = postgres.TransactionSql;
export type Database = PostgresJsDatabase<typeof core>;

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
  readonly db: Database;
  close(): Promise<void>;
}

/** Opens a postgres.js pool with Drizzle on top. The pool connects lazily and reconnects by itself. */
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
  const db = drizzle(sql, { schema: core });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}
