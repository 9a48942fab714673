export { agentTraceHistory, eventLogs, modelCostLogs } from './correlated-rows.ts';
export { type NodeStatus, nodeStatus, type RunStatus, runStatus, TERMINAL_RUN_STATUSES } from './enums.ts';
export { heldNodes, inflightNodes, modelPrices, tenantLimits, tenantUsageDaily } from './governance.ts';
export { nodeRuns, runs } from './runs.ts';
export { apiKeys, tenants } from './tenants.ts';
export { workflows } from './workflows.ts';
