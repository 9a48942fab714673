export { type AlertRule, alertRuleSchema } from './alert-schema.ts';
export { type Dashboard, dashboardSchema } from './dashboard-schema.ts';
export { COPY_SUFFIX, copyTitle } from './dashboards-v2.ts';
export { parseFilterExpression } from './filter-expression.ts';
export {
  type Definition,
  type DefinitionKind,
  type Definitions,
  type LoadOptions,
  loadDefinitions,
} from './load-definitions.ts';
export {
  type ItemAction,
  type ItemResult,
  type ProvisionDeps,
  type ProvisionOptions,
  type ProvisionReport,
  provision,
} from './provision.ts';
export { alertProblems, dashboardProblems, type MetricCatalogue } from './references.ts';
export {
  type SignozApi,
  SignozClient,
  type SignozClientDeps,
  type SignozClientOptions,
  SignozError,
  type SignozErrorCode,
  type SignozItem,
} from './signoz-client.ts';
export type { DashboardApiChoice, DashboardApiVersion } from './signoz-version.ts';
