export {
  createDatabase,
  type DatabaseHandle,
  type DatabaseOptions,
  isConnectionLost,
  isTransientDatabaseError,
  type Sql,
} from './client.ts';
export { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded/embedded-postgres.ts';
export { ensureDatabase, hasPgvector } from './ensure-database.ts';
export { migrateDatabase } from './migrate.ts';
export { type MigrateAllResult, migrateAll } from './migrate-all.ts';
export { type MigrationSet, migrationsFolder } from './migrations-folder.ts';
export {
  agentTraceHistory,
  apiKeys,
  eventLogs,
  modelCostLogs,
  type NodeStatus,
  nodeRuns,
  nodeStatus,
  type RunStatus,
  runStatus,
  runs,
  TERMINAL_RUN_STATUSES,
  tenants,
  workflows,
} from './schema/core.ts';
export { ragChunks, ragCollections, ragDocuments, unsizedVector } from './schema/vector.ts';
export { reserveConnection, type Transaction, transaction } from './transaction.ts';
export { openVectorDatabase, type VectorDatabaseOptions } from './vector-database.ts';
