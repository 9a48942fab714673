export { agentTraceHistory, eventLogs, modelCostLogs } from './correlated-rows.ts';
export { nodeStatus, runStatus, type NodeStatus, type RunStatus, TERMINAL_RUN_STATUSES } from './enums.ts';
export { nodeRuns, runs } from './runs.ts';
export { apiKeys, tenants } from './tenants.ts';
export { workflows } from './workflows.ts';
