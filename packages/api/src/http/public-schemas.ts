/**
 * The request and response schemas of the public API, for `@flowtrace/client`, which derives its types
 * from them (`z.infer`, type-only imports): what the server validates and returns is what the client types.
 */

export { ingestBodySchema, ingestResultSchema } from '../routes/collection-routes.ts';
export { tenantLimitsResponseSchema } from '../routes/tenant-routes.ts';
export { usageResponseSchema } from '../routes/usage-routes.ts';
export {
  listRunsQuerySchema,
  replayAcceptedSchema,
  replayBodySchema,
  runEventSchema,
  runListResponseSchema,
  stepsResponseSchema,
} from './run-console-schemas.ts';
export {
  createRunBodySchema,
  errorBodySchema,
  eventsQuerySchema,
  eventsResponseSchema,
  runAcceptedSchema,
  runCancelledSchema,
  runResponseSchema,
  workflowResponseSchema,
} from './schemas.ts';
