/**
 * The product's own telemetry names, all under `flowtrace.`: attributes of spans, span events and metric
 * points in `FlowtraceAttributes`, span event names in `FlowtraceEvents`. OpenTelemetry's names are in
 * `semconv.ts`. Code refers to a name through these maps only (the Biome plugin
 * `packages/telemetry/lint/telemetry-names.grit` rejects literal names elsewhere), so that a name is
 * written once; `docs/telemetry.md` is the table a SigNoz user queries.
 */
export const FlowtraceAttributes = {
  // The workflow, run and node a span or metric point belongs to (node spans: send and process)
  WORKFLOW_ID: 'flowtrace.workflow.id',
  WORKFLOW_NAME: 'flowtrace.workflow.name',
  RUN_ID: 'flowtrace.run.id',
  /** Terminal status of the run (`completed`, `failed`, `cancelled`), on `invoke_workflow` and run metrics. */
  RUN_STATUS: 'flowtrace.run.status',
  NODE_ID: 'flowtrace.node.id',
  /** `llm`, `agent`, `connector`, `rag`. */
  NODE_TYPE: 'flowtrace.node.type',
  /** How a process span's attempt ended for the node: completed, superseded, cancelled, failed, not_runnable. */
  NODE_STATUS: 'flowtrace.node.status',
  /** The attempt number, from 1; each attempt is its own process span. */
  NODE_ATTEMPT: 'flowtrace.node.attempt',
  /** Outcome label of `flowtrace.node.duration`: completed, failed, retried, cancelled, not_runnable, abandoned. */
  NODE_OUTCOME: 'flowtrace.node.outcome',
  TENANT_ID: 'flowtrace.tenant.id',
  /** The stable error code (the error catalogue's) beside `error.type`. */
  ERROR_CODE: 'flowtrace.error.code',

  // Dispatch, retries and recovery
  /** On a `send` span whose job the tenant's in-flight limit held back in Postgres. */
  DISPATCH_HELD: 'flowtrace.dispatch.held',
  /** Why the reconciler re-enqueued a node (`send` span, `flowtrace.reconciler.redrives`). */
  REDRIVE_REASON: 'flowtrace.redrive.reason',
  /** On the `flowtrace.node.retried` event: milliseconds until the next attempt. */
  RETRY_DELAY_MS: 'flowtrace.retry.delay_ms',
  /** On span links: `replay_of` (a replay's run span), `replaced_dispatch` (a re-driven job's send span). */
  LINK_TYPE: 'flowtrace.link.type',
  /** State label of `flowtrace.queue.depth`: waiting, active, delayed, failed, ... */
  QUEUE_STATE: 'flowtrace.queue.state',
  /** The tenant limit that refused a run or a model call, and at which stage (`admission`, `model_call`). */
  LIMIT_NAME: 'flowtrace.limit.name',
  LIMIT_STAGE: 'flowtrace.limit.stage',

  // Agent (invoke_agent span)
  /** Model calls the agent made (what `maxSteps` bounds). */
  AGENT_MODEL_CALLS: 'flowtrace.agent.model_calls',
  /** Tool calls the agent executed, failed ones included. */
  AGENT_TOOL_CALLS: 'flowtrace.agent.tool_calls',
  /** Tool calls that ended in an error fed back to the model. */
  AGENT_TOOL_ERRORS: 'flowtrace.agent.tool_errors',
  AGENT_MAX_STEPS: 'flowtrace.agent.max_steps',
  /** True when some model call of the agent had no price, so the total cost is unknown. */
  AGENT_COST_UNKNOWN: 'flowtrace.agent.cost_unknown',

  // Connector (process span of a connector node, the `flowtrace.connector.blocked` event)
  /** Human-readable reason a destination was refused: host, address and the rule that matched. */
  CONNECTOR_BLOCKED_REASON: 'flowtrace.connector.blocked_reason',
  CONNECTOR_BLOCKED_RULE: 'flowtrace.connector.blocked_rule',
  CONNECTOR_BLOCKED_HOST: 'flowtrace.connector.blocked_host',
  CONNECTOR_BLOCKED_ADDRESS: 'flowtrace.connector.blocked_address',
  /** Name of the configured credential used (never its values). */
  CONNECTOR_CREDENTIAL: 'flowtrace.connector.credential',
  /** Redirects followed before the final response. */
  CONNECTOR_REDIRECTS: 'flowtrace.connector.redirects',
  CONNECTOR_RESPONSE_BYTES: 'flowtrace.connector.response_bytes',

  // RAG (embeddings, retrieval and ingestion spans)
  /** Number of texts in one embeddings request. */
  EMBEDDINGS_INPUT_COUNT: 'flowtrace.embeddings.input_count',
  /** Requested top-k (the same value as `gen_ai.retrieval.top_k`). */
  RAG_TOP_K: 'flowtrace.rag.top_k',
  RAG_RESULT_COUNT: 'flowtrace.rag.result_count',
  RAG_COLLECTION_ID: 'flowtrace.rag.collection_id',
  /** Whether a metadata filter narrowed the search. */
  RAG_FILTERED: 'flowtrace.rag.filtered',
  RAG_DOCUMENTS_ADDED: 'flowtrace.rag.documents_added',
  RAG_DOCUMENTS_UNCHANGED: 'flowtrace.rag.documents_unchanged',
  RAG_CHUNKS_ADDED: 'flowtrace.rag.chunks_added',
} as const;

/** Names of the span events the product records (the `exception` event is OpenTelemetry's). */
export const FlowtraceEvents = {
  /** On a process span whose attempt failed and will be retried (`flowtrace.retry.delay_ms`, `error.type`). */
  NODE_RETRIED: 'flowtrace.node.retried',
  /** On the connector's span when the SSRF guard refused a destination (`flowtrace.connector.blocked_*`). */
  CONNECTOR_BLOCKED: 'flowtrace.connector.blocked',
} as const;

/** Values of `flowtrace.link.type`. */
export const FlowtraceLinkTypes = {
  REPLAY_OF: 'replay_of',
  REPLACED_DISPATCH: 'replaced_dispatch',
} as const;
