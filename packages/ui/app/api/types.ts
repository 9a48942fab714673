/**
 * The shapes the run viewer reads from the HTTP API (`docs/api.md`). Fields added by newer API versions
 * are optional here so that the page degrades rather than breaks against an older server.
 */

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type NodeStatus = 'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export const TERMINAL_RUN_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled'];

export interface ApiErrorBody {
  code: string;
  message: string;
  nodeId?: string;
  details?: Record<string, unknown>;
}

export interface RunUsage {
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

export interface NodeUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

export interface RunSummary {
  id: string;
  workflowId: string;
  workflowName: string;
  workflowVersion: number;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  traceId: string;
  traceUrl: string;
  usage: RunUsage;
  replayOf?: string | null;
}

export interface RunList {
  runs: RunSummary[];
  nextCursor: string | null;
}

export interface RunNode {
  nodeId: string;
  type: string;
  status: NodeStatus;
  attempts: number;
  maxAttempts: number;
  input?: unknown;
  output: unknown;
  error: ApiErrorBody | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  spanId: string | null;
  dependsOn?: string[];
  usage?: NodeUsage;
  /** The output was carried over from the run this one replays; the node did not execute. */
  reused?: boolean;
}

export interface RunDetail extends RunSummary {
  input: unknown;
  output: unknown;
  error: ApiErrorBody | null;
  idempotencyKey: string | null;
  sampled: boolean;
  nodes: RunNode[];
  replays?: string[];
}

export interface RunEvent {
  id: number;
  /** Commit order within the run; the stream's `id:` and the `after` cursor. */
  seq?: number;
  type: string;
  nodeId: string | null;
  attempt: number | null;
  message: string | null;
  data: unknown;
  traceId: string;
  spanId: string | null;
  createdAt: string;
}

export interface RunEvents {
  events: RunEvent[];
  nextAfter: number | null;
}

export interface AgentStep {
  nodeId: string;
  attempt: number;
  step: number;
  /** `tool_call` (a tool the model asked for, with its input and observation) or `message`. */
  kind: string;
  /** The model's text for the step, when content capture allows it. */
  content: string | null;
  toolName: string | null;
  toolCallId?: string | null;
  toolInput?: unknown;
  observation?: unknown;
  isError?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  traceId: string;
  spanId: string | null;
  createdAt: string;
}

export interface ReplayAccepted {
  runId: string;
  replayOf: string;
  traceId?: string;
  status?: string;
}

export interface RunFilters {
  status?: string;
  workflowName?: string;
  createdAfter?: string;
  createdBefore?: string;
}

/** An event's position in the run's commit order. */
export function eventSeq(event: RunEvent): number {
  return event.seq ?? event.id;
}
