import { NODE_TYPES, type NodeType } from '@flowtrace/workflow';
import { z } from 'zod';

/**
 * The queue catalogue: one BullMQ queue per node type, each with the payload schema producers write and
 * consumers validate on dequeue, and its default retry settings.
 */
export const QUEUE_NAMES: Readonly<Record<NodeType, string>> = {
  llm: 'nodes.llm',
  agent: 'nodes.agent',
  connector: 'nodes.connector',
  rag: 'nodes.rag',
};

export function queueNameFor(type: NodeType): string {
  return QUEUE_NAMES[type];
}

/** Retry defaults per node type; a node's `retry` in the definition overrides them. */
export const DEFAULT_RETRY: Readonly<
  Record<NodeType, { attempts: number; delayMs: number; maxDelayMs: number }>
> = {
  llm: { attempts: 3, delayMs: 1_000, maxDelayMs: 30_000 },
  agent: { attempts: 2, delayMs: 2_000, maxDelayMs: 30_000 },
  connector: { attempts: 3, delayMs: 500, maxDelayMs: 15_000 },
  rag: { attempts: 3, delayMs: 500, maxDelayMs: 10_000 },
};

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));

export const traceCarrierSchema = z.object({
  traceparent: z.string().max(128).optional(),
  tracestate: z.string().max(1024).optional(),
  baggage: z.string().max(8192).optional(),
});

export const spanLinkSchema = z.object({ traceId: hex(32), spanId: hex(16), traceFlags: z.number().int() });

export const backoffSettingsSchema = z.object({
  type: z.enum(['fixed', 'exponential']),
  delayMs: z.number().int().min(0),
  maxDelayMs: z.number().int().min(0),
  jitter: z.number().min(0).max(1),
});

/** The data of a node job. The node's own state lives in Postgres; the job only points at it. */
export const nodeJobSchema = z.object({
  v: z.literal(1),
  runId: z.uuid(),
  nodeId: z.string().min(1).max(64),
  workflowId: z.uuid(),
  tenantId: z.uuid(),
  /** W3C context of the PRODUCER span that enqueued the job: the consumer span's parent. */
  carrier: traceCarrierSchema,
  /** Other predecessors of a join node: linked from the consumer span. */
  links: z.array(spanLinkSchema).max(64).default([]),
  backoff: backoffSettingsSchema,
});

export type NodeJobData = z.infer<typeof nodeJobSchema>;
export type NodeJobInput = z.input<typeof nodeJobSchema>;
export type BackoffSettings = z.infer<typeof backoffSettingsSchema>;

/** BullMQ job ids may not contain `:`; run ids are UUIDs and node ids match `[A-Za-z0-9_-]`. */
export function nodeJobId(runId: string, nodeId: string): string {
  return `${runId}.${nodeId}`;
}

export { NODE_TYPES };
