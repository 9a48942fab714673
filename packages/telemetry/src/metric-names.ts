/**
 * Every metric the fleet emits, with its unit and attributes: the names follow OpenTelemetry semantic
 * conventions where they exist, the rest live under `flowtrace.`. Dashboards, alert rules and tests read
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

const spec = <T extends MetricSpec>(m: T) => m;

export const METRICS = {
  // Messaging (semantic conventions)
  messagingProcessDuration: spec({
    name: 'messaging.process.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Time a worker spends processing a node job',
    attributes: [
      'messaging.system',
      'messaging.destination.name',
      'messaging.operation.name',
      'error.type',
      'node.type',
    ],
  }),
  messagingSent: spec({
    name: 'messaging.client.sent.messages',
    unit: '{message}',
    kind: 'counter',
    description: 'Node jobs enqueued',
    attributes: ['messaging.system', 'messaging.destination.name', 'messaging.operation.name', 'error.type'],
  }),
  messagingConsumed: spec({
    name: 'messaging.client.consumed.messages',
    unit: '{message}',
    kind: 'counter',
    description: 'Node jobs taken by workers',
    attributes: ['messaging.system', 'messaging.destination.name', 'messaging.operation.name'],
  }),
  // Queues
  queueDepth: spec({
    name: 'flowtrace.queue.depth',
    unit: '{job}',
    kind: 'gauge',
    description: 'Jobs in a node queue, by state (waiting, active, delayed, failed)',
    attributes: ['messaging.destination.name', 'flowtrace.queue.state'],
  }),
  queueWait: spec({
    name: 'flowtrace.queue.wait.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Time from enqueue (or the end of a retry delay) to a worker starting the job',
    attributes: ['messaging.destination.name', 'node.type'],
  }),
  jobsStalled: spec({
    name: 'flowtrace.queue.stalled',
    unit: '{job}',
    kind: 'counter',
    description: 'Jobs whose worker stopped renewing the lock, re-delivered by BullMQ',
    attributes: ['messaging.destination.name'],
  }),
  // Nodes and runs
  nodeDuration: spec({
    name: 'flowtrace.node.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of one node attempt, by node type and outcome',
    attributes: ['node.type', 'flowtrace.node.outcome', 'error.type'],
  }),
  nodeRetries: spec({
    name: 'flowtrace.node.retries',
    unit: '{retry}',
    kind: 'counter',
    description: 'Node attempts that failed and will be retried',
    attributes: ['node.type', 'error.type'],
  }),
  runsStarted: spec({
    name: 'flowtrace.runs.started',
    unit: '{run}',
    kind: 'counter',
    description: 'Runs accepted by the API',
    attributes: ['tenant.id', 'workflow.name'],
  }),
  runsFinished: spec({
    name: 'flowtrace.runs.finished',
    unit: '{run}',
    kind: 'counter',
    description: 'Runs that reached a terminal status',
    attributes: ['tenant.id', 'workflow.name', 'workflow.run.status', 'error.type'],
  }),
  runDuration: spec({
    name: 'flowtrace.run.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Time from submission to terminal status',
    attributes: ['workflow.name', 'workflow.run.status'],
  }),
  reconcilerRedrives: spec({
    name: 'flowtrace.reconciler.redrives',
    unit: '{node}',
    kind: 'counter',
    description: 'Nodes the reconciler re-enqueued because Redis had lost or never received their job',
    attributes: ['flowtrace.redrive.reason', 'node.type'],
  }),
  // LLM usage and cost
  tokenUsage: spec({
    name: 'gen_ai.client.token.usage',
    unit: '{token}',
    kind: 'histogram',
    description: 'Tokens per model call, by direction',
    attributes: [
      'gen_ai.operation.name',
      'gen_ai.provider.name',
      'gen_ai.request.model',
      'gen_ai.response.model',
      'gen_ai.token.type',
    ],
  }),
  operationDuration: spec({
    name: 'gen_ai.client.operation.duration',
    unit: 's',
    kind: 'histogram',
    description: 'Duration of model calls',
    attributes: [
      'gen_ai.operation.name',
      'gen_ai.provider.name',
      'gen_ai.request.model',
      'gen_ai.response.model',
      'error.type',
      'server.address',
      'server.port',
    ],
  }),
  llmCost: spec({
    name: 'flowtrace.llm.cost',
    unit: '{USD}',
    kind: 'counter',
    description: 'Cost of model calls in USD, by model and tenant',
    attributes: ['gen_ai.provider.name', 'gen_ai.request.model', 'tenant.id'],
  }),
  // Tenants (tenant.id is bounded: past the first tenants a process sees, the rest report as `_other`)
  tenantSpend: spec({
    name: 'flowtrace.tenant.spend',
    unit: '{USD}',
    kind: 'counter',
    description:
      'Model spend in USD per tenant (chat and embeddings, ingestion included), as recorded in the ledger',
    attributes: ['tenant.id', 'gen_ai.operation.name'],
  }),
  tenantTokens: spec({
    name: 'flowtrace.tenant.tokens',
    unit: '{token}',
    kind: 'counter',
    description: 'Model tokens per tenant, by direction',
    attributes: ['tenant.id', 'gen_ai.operation.name', 'gen_ai.token.type'],
  }),
  tenantLimitRejections: spec({
    name: 'flowtrace.tenant.limit.rejections',
    unit: '{request}',
    kind: 'counter',
    description:
      'Runs refused at admission and model calls refused before they were made, by the limit that refused them',
    attributes: ['tenant.id', 'flowtrace.limit.name', 'flowtrace.limit.stage'],
  }),
  tenantNodesHeld: spec({
    name: 'flowtrace.tenant.nodes.held',
    unit: '{node}',
    kind: 'counter',
    description: 'Ready nodes held in Postgres because their tenant had maxInflightNodes in flight',
    attributes: ['tenant.id'],
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
      'error.type',
    ],
    source: 'instrumentation',
  }),
  spansProcessed: spec({
    name: 'otel.sdk.processor.span.processed',
    unit: '{span}',
    kind: 'counter',
    description: 'Spans handed to the exporter; error.type=queue_full counts spans dropped',
    attributes: ['otel.component.type', 'otel.component.name', 'error.type'],
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
