import { FlowtraceAttributes } from './attributes.ts';
import * as semconv from './semconv.ts';

/**
 * Every metric the fleet emits, with its unit and attributes: the names follow OpenTelemetry semantic
 * conventions where they exist, the rest live under `flowtrace.`; attribute names come from the
 * vocabulary (`semconv.ts`, `attributes.ts`). Dashboards, alert rules and tests read
 * this catalogue, so a renamed metric cannot silently break them.
 */
export interface MetricSpec {
  name: string;
  unit: string;
  kind: 'counter' | 'histogram' | 'gauge' | 'updowncounter';
  description: string;
  attributes: readonly string[];
  /** Emitted by an instrumentation or the SDK rather than by our code. */
  source?: 'instrumentation' | 'sdk';
}

/** Keeps each entry's literal name and kind; its attributes stay a plain list of names. */
const spec = <T extends MetricSpec>(m: T): Omit<T, 'attributes'> & Pick<MetricSpec, 'attributes'> => m;

export const METRICS = {
  // Messaging (semantic conventions)
  messagingProcessDuration: spec({
    name: 'messaging.process.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Time a worker spends processing a node job',
    attributes: [
      semconv.ATTR_MESSAGING_SYSTEM,
      semconv.ATTR_MESSAGING_DESTINATION_NAME,
      semconv.ATTR_MESSAGING_OPERATION_NAME,
      semconv.ATTR_ERROR_TYPE,
      FlowtraceAttributes.NODE_TYPE,
    ],
  }),
  messagingSent: spec({
    name: 'messaging.client.sent.messages',
    unit: '{message}',
    kind: 'counter',
    description: 'Node jobs enqueued',
    attributes: [
      semconv.ATTR_MESSAGING_SYSTEM,
      semconv.ATTR_MESSAGING_DESTINATION_NAME,
      semconv.ATTR_MESSAGING_OPERATION_NAME,
      semconv.ATTR_ERROR_TYPE,
    ],
  }),
  messagingConsumed: spec({
    name: 'messaging.client.consumed.messages',
    unit: '{message}',
    kind: 'counter',
    description: 'Node jobs taken by workers',
    attributes: [
      semconv.ATTR_MESSAGING_SYSTEM,
      semconv.ATTR_MESSAGING_DESTINATION_NAME,
      semconv.ATTR_MESSAGING_OPERATION_NAME,
    ],
  }),
  // Queues
  queueDepth: spec({
    name: 'flowtrace.queue.depth',
    unit: '{job}',
    kind: 'gauge',
    description: 'Jobs in a node queue, by state (waiting, active, delayed, failed)',
    attributes: [semconv.ATTR_MESSAGING_DESTINATION_NAME, FlowtraceAttributes.QUEUE_STATE],
  }),
  queueWait: spec({
    name: 'flowtrace.queue.wait.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Time from enqueue (or the end of a retry delay) to a worker starting the job',
    attributes: [semconv.ATTR_MESSAGING_DESTINATION_NAME, FlowtraceAttributes.NODE_TYPE],
  }),
  jobsStalled: spec({
    name: 'flowtrace.queue.stalled',
    unit: '{job}',
    kind: 'counter',
    description: 'Jobs whose worker stopped renewing the lock, re-delivered by BullMQ',
    attributes: [semconv.ATTR_MESSAGING_DESTINATION_NAME],
  }),
  // Nodes and runs
  nodeDuration: spec({
    name: 'flowtrace.node.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of one node attempt, by node type and outcome',
    attributes: [FlowtraceAttributes.NODE_TYPE, FlowtraceAttributes.NODE_OUTCOME, semconv.ATTR_ERROR_TYPE],
  }),
  nodeRetries: spec({
    name: 'flowtrace.node.retries',
    unit: '{retry}',
    kind: 'counter',
    description: 'Node attempts that failed and will be retried',
    attributes: [FlowtraceAttributes.NODE_TYPE, semconv.ATTR_ERROR_TYPE],
  }),
  runsStarted: spec({
    name: 'flowtrace.runs.started',
    unit: '{run}',
    kind: 'counter',
    description: 'Runs accepted by the API',
    attributes: [FlowtraceAttributes.TENANT_ID, FlowtraceAttributes.WORKFLOW_NAME],
  }),
  runsFinished: spec({
    name: 'flowtrace.runs.finished',
    unit: '{run}',
    kind: 'counter',
    description: 'Runs that reached a terminal status',
    attributes: [
      FlowtraceAttributes.TENANT_ID,
      FlowtraceAttributes.WORKFLOW_NAME,
      FlowtraceAttributes.RUN_STATUS,
      semconv.ATTR_ERROR_TYPE,
    ],
  }),
  runDuration: spec({
    name: 'flowtrace.run.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Time from submission to terminal status',
    attributes: [FlowtraceAttributes.WORKFLOW_NAME, FlowtraceAttributes.RUN_STATUS],
  }),
  reconcilerRedrives: spec({
    name: 'flowtrace.reconciler.redrives',
    unit: '{node}',
    kind: 'counter',
    description: 'Nodes the reconciler re-enqueued because Redis had lost or never received their job',
    attributes: [FlowtraceAttributes.REDRIVE_REASON, FlowtraceAttributes.NODE_TYPE],
  }),
  // LLM usage and cost
  tokenUsage: spec({
    name: semconv.METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
    unit: '{token}',
    kind: 'histogram',
    description: 'Tokens per model call, by direction',
    attributes: [
      semconv.ATTR_GEN_AI_OPERATION_NAME,
      semconv.ATTR_GEN_AI_PROVIDER_NAME,
      semconv.ATTR_GEN_AI_REQUEST_MODEL,
      semconv.ATTR_GEN_AI_RESPONSE_MODEL,
      semconv.ATTR_GEN_AI_TOKEN_TYPE,
    ],
  }),
  operationDuration: spec({
    name: semconv.METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
    unit: 's',
    kind: 'histogram',
    description: 'Duration of model calls',
    attributes: [
      semconv.ATTR_GEN_AI_OPERATION_NAME,
      semconv.ATTR_GEN_AI_PROVIDER_NAME,
      semconv.ATTR_GEN_AI_REQUEST_MODEL,
      semconv.ATTR_GEN_AI_RESPONSE_MODEL,
      semconv.ATTR_ERROR_TYPE,
      semconv.ATTR_SERVER_ADDRESS,
      semconv.ATTR_SERVER_PORT,
    ],
  }),
  llmCost: spec({
    name: 'flowtrace.llm.cost',
    unit: '{USD}',
    kind: 'counter',
    description: 'Cost of model calls in USD, by model and tenant',
    attributes: [
      semconv.ATTR_GEN_AI_PROVIDER_NAME,
      semconv.ATTR_GEN_AI_REQUEST_MODEL,
      FlowtraceAttributes.TENANT_ID,
    ],
  }),
  // Tenants (flowtrace.tenant.id is bounded: past the first tenants a process sees, the rest report as `_other`)
  tenantSpend: spec({
    name: 'flowtrace.tenant.spend',
    unit: '{USD}',
    kind: 'counter',
    description:
      'Model spend in USD per tenant (chat and embeddings, ingestion included), as recorded in the ledger',
    attributes: [FlowtraceAttributes.TENANT_ID, semconv.ATTR_GEN_AI_OPERATION_NAME],
  }),
  tenantTokens: spec({
    name: 'flowtrace.tenant.tokens',
    unit: '{token}',
    kind: 'counter',
    description: 'Model tokens per tenant, by direction',
    attributes: [
      FlowtraceAttributes.TENANT_ID,
      semconv.ATTR_GEN_AI_OPERATION_NAME,
      semconv.ATTR_GEN_AI_TOKEN_TYPE,
    ],
  }),
  tenantLimitRejections: spec({
    name: 'flowtrace.tenant.limit.rejections',
    unit: '{request}',
    kind: 'counter',
    description:
      'Runs refused at admission and model calls refused before they were made, by the limit that refused them',
    attributes: [
      FlowtraceAttributes.TENANT_ID,
      FlowtraceAttributes.LIMIT_NAME,
      FlowtraceAttributes.LIMIT_STAGE,
    ],
  }),
  tenantNodesHeld: spec({
    name: 'flowtrace.tenant.nodes.held',
    unit: '{node}',
    kind: 'counter',
    description: 'Ready nodes held in Postgres because their tenant had maxInflightNodes in flight',
    attributes: [FlowtraceAttributes.TENANT_ID],
  }),
  // From instrumentations and the SDK
  httpServerDuration: spec({
    name: 'http.server.request.duration',
    unit: 's',
    kind: 'histogram',
    description: 'API request duration',
    attributes: [
      'http.request.method',
      'http.route',
      'http.response.status_code',
      'url.scheme',
      'network.protocol.version',
      semconv.ATTR_ERROR_TYPE,
    ],
    source: 'instrumentation',
  }),
  spansProcessed: spec({
    name: 'otel.sdk.processor.span.processed',
    unit: '{span}',
    kind: 'counter',
    description: 'Spans handed to the exporter; error.type=queue_full counts spans dropped',
    attributes: ['otel.component.type', 'otel.component.name', semconv.ATTR_ERROR_TYPE],
    source: 'sdk',
  }),
  spanQueueSize: spec({
    name: 'otel.sdk.processor.span.queue.size',
    unit: '{span}',
    kind: 'updowncounter',
    description: 'Spans waiting in the batch processor queue',
    attributes: ['otel.component.type', 'otel.component.name'],
    source: 'sdk',
  }),
  eventLoopDelay: spec({
    name: 'nodejs.eventloop.delay.p99',
    unit: 's',
    kind: 'gauge',
    description: 'Event loop delay (Node runtime metrics)',
    attributes: [],
    source: 'instrumentation',
  }),
  heapUsed: spec({
    name: 'v8js.memory.heap.used',
    unit: 'By',
    kind: 'gauge',
    description: 'V8 heap in use (Node runtime metrics)',
    attributes: ['v8js.heap.space.name'],
    source: 'instrumentation',
  }),
} as const;

export type MetricKey = keyof typeof METRICS;
