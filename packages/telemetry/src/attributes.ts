/**
 * The product's own span attributes. The brief fixes these names (`workflow.*`, `node.*`, `tenant.id`,
 * `attempt`) so that a SigNoz query over any node span reads the same everywhere; keep them in this one map.
 */
export const FlowtraceAttributes = {
  WORKFLOW_ID: 'workflow.id',
  WORKFLOW_NAME: 'workflow.name',
  WORKFLOW_RUN_ID: 'workflow.run_id',
  WORKFLOW_RUN_STATUS: 'workflow.run.status',
  NODE_ID: 'node.id',
  NODE_TYPE: 'node.type',
  NODE_STATUS: 'node.status',
  TENANT_ID: 'tenant.id',
  ATTEMPT: 'attempt',
  ERROR_CODE: 'flowtrace.error.code',
} as const;
