/*
 * The client's types are the server's own zod schemas, inferred with `z.infer` through type-only imports.
 * Why this and not types generated from /openapi.json: TypeScript erases type-only imports, so the client
 * still has no runtime dependency (only `fetch`), and its types cannot drift from what the server validates
 * and returns, with no generator, no checked-in generated file and no drift check to keep. The cost is that
 * type-checking code that uses the client needs `@flowtrace/api` and `zod` (dev dependencies here), which
 * every consumer in this repository has.
 */
import type * as schemas from '@flowtrace/api/schemas';
import type { ErrorCode } from '@flowtrace/workflow';
import type { z } from 'zod';

/** `POST /v1/workflows` body: a workflow definition (validated by the server, see docs/api.md). */
export type WorkflowDefinitionInput = Record<string, unknown>;
export type Workflow = z.infer<typeof schemas.workflowResponseSchema>;
/** `POST /v1/runs` body. */
export type SubmitRunRequest = z.input<typeof schemas.createRunBodySchema>;
export type RunAccepted = z.infer<typeof schemas.runAcceptedSchema>;
export type Run = z.infer<typeof schemas.runResponseSchema>;
export type RunStatus = Run['status'];
export type RunNode = Run['nodes'][number];
/** One lifecycle event: an item of `GET /v1/runs/:id/events`, and the `data` of each streamed event. */
export type RunEvent = z.infer<typeof schemas.runEventSchema>;
export type RunEventPage = z.infer<typeof schemas.eventsResponseSchema>;
export type RunCancelled = z.infer<typeof schemas.runCancelledSchema>;
export type RunList = z.infer<typeof schemas.runListResponseSchema>;
export type RunListItem = RunList['runs'][number];
export type RunSteps = z.infer<typeof schemas.stepsResponseSchema>;
export type RunStep = RunSteps['steps'][number];
/** `POST /v1/runs/:id/replay` body. */
export type ReplayRequest = z.input<typeof schemas.replayBodySchema>;
export type ReplayAccepted = z.infer<typeof schemas.replayAcceptedSchema>;
export type ApiErrorBody = z.infer<typeof schemas.errorBodySchema>;
/** `POST /v1/collections/:name/documents` body and answer. */
export type IngestRequest = z.input<typeof schemas.ingestBodySchema>;
export type IngestResult = z.infer<typeof schemas.ingestResultSchema>;
/** `GET /v1/tenant/limits` (and `PUT`'s answer): the limits in effect, who set them, and this period's usage. */
export type TenantLimitsView = z.infer<typeof schemas.tenantLimitsResponseSchema>;
export type TenantLimits = TenantLimitsView['limits'];
/** `PUT /v1/tenant/limits` body: the tenant's own limits (absent or null: none of its own). */
export type TenantLimitsInput = Partial<TenantLimits>;
/** `GET /v1/usage`. */
export type Usage = z.infer<typeof schemas.usageResponseSchema>;
export type UsageRow = Usage['rows'][number];
export type UsageDimension = Usage['groupBy'][number];
/** Query of `GET /v1/usage`: UTC days, inclusive. */
export interface UsageQuery {
  from?: string;
  to?: string;
  groupBy?: readonly UsageDimension[];
}
/** Every error code the API may return (`packages/workflow/src/errors/error-codes.ts`). */
export type ApiErrorCode = ErrorCode;

/** Filters of `GET /v1/runs`. */
export interface ListRunsFilter {
  status?: RunStatus | readonly RunStatus[];
  workflowId?: string;
  workflowName?: string;
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  cursor?: string;
  limit?: number;
}
