/**
 * Every error code the product returns, with the HTTP status it maps to. Codes are stable strings that
 * clients may branch on; messages are for humans and say what to fix.
 */
export const ERROR_CODES = {
  // Workflow definitions
  invalid_definition: 400,
  unknown_node_type: 400,
  duplicate_node_id: 400,
  unknown_dependency: 400,
  workflow_cycle: 400,
  unknown_template_reference: 400,
  unknown_workflow_reference: 400,
  definition_too_large: 400,
  /** A JSON Schema in the definition (tool `parameters`, `responseFormat.schema`) does not compile. */
  invalid_json_schema: 400,
  // Run requests
  invalid_request: 400,
  invalid_input: 400,
  input_too_large: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  nesting_too_deep: 400,
  invalid_character: 400,
  headers_too_large: 431,
  uri_too_long: 414,
  request_timeout: 408,
  idempotency_conflict: 409,
  run_not_cancellable: 409,
  // Replays (`POST /v1/runs/:id/replay`)
  run_not_finished: 409,
  replay_node_not_found: 409,
  nothing_to_replay: 409,
  // Tenant limits: budgets (at admission and before each model call) and quotas
  budget_exceeded: 402,
  rate_limited: 429,
  concurrency_limited: 429,
  // Auth and lookup
  unauthorized: 401,
  not_found: 404,
  // Execution (recorded on nodes and runs, not returned by the API)
  template_variable_missing: 422,
  node_failed: 500,
  node_timeout: 504,
  run_timeout: 504,
  provider_error: 502,
  provider_rejected: 422,
  /** An `llm` node's structured answer does not match its `responseFormat` schema; retried like a malformed reply. */
  response_schema_mismatch: 502,
  connector_error: 502,
  connector_blocked: 403,
  /** A connector or HTTP tool named a credential its tenant may not use, or for a host it may not go to. */
  credential_not_allowed: 403,
  tool_error: 502,
  executor_not_found: 500,
  cancelled: 409,
  output_not_storable: 422,
  redrive_limit_exceeded: 500,
  // Infrastructure
  dependency_unavailable: 503,
  /** The run viewer's static files were not built (`npm run build:ui`). */
  ui_not_built: 503,
  internal_error: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;
