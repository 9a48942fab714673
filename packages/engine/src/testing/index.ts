export { countersAndRows, createTenantWithRun } from './tenant-ledger.ts';
