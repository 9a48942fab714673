export {
  createDatabase,
  type Database,
  type DatabaseHandle,
  type DatabaseOptions,
  type Sql,
  type Transaction,
} from './client.ts';
export { MIGRATIONS, type MigrationSet, migrateDatabase } from './migrate.ts';
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
