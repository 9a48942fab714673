import { z } from 'zod';
import { DEFINITION_LIMITS } from './limits.ts';
import { NODE_TYPES, type NodeConfigByType, type NodeType } from './node-configs.ts';

export const NODE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export const backoffSchema = z.strictObject({
  type: z.enum(['fixed', 'exponential']).default('exponential'),
  /** First delay; exponential backoff doubles it per attempt. */
  delayMs: z.number().int().min(0).max(3_600_000).default(1_000),
  /** Ceiling for exponential backoff. */
  maxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  /** Fraction of each delay that is randomised (0 = none, 1 = full jitter). */
  jitter: z.number().min(0).max(1).default(0.2),
});

export const retryPolicySchema = z.strictObject({
  /** Total attempts, the first one included. */
  attempts: z.number().int().min(1).max(20),
  backoff: backoffSchema.optional(),
});

/** Fields every node has; `config` is checked against its type's schema afterwards. */
export const nodeEnvelopeSchema = z.strictObject({
  id: z
    .string()
    .regex(NODE_ID_PATTERN, 'must start with a letter and use only letters, digits, _ and - (max 64)'),
  type: z.enum(NODE_TYPES as [NodeType, ...NodeType[]]),
  name: z.string().max(200).optional(),
  dependsOn: z.array(z.string()).max(DEFINITION_LIMITS.maxDependencies).default([]),
  config: z.unknown(),
  retry: retryPolicySchema.optional(),
  /** Per-attempt time limit; the executor is aborted when it passes. */
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(24 * 3_600_000)
    .optional(),
  /** When the node fails for good, let the run go on without it instead of failing the run. */
  continueOnFailure: z.boolean().default(false),
});

export const workflowEnvelopeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$/, 'must be 1-128 letters, digits, spaces, _ . -'),
  description: z.string().max(2_000).optional(),
  /** Whole-run time limit, from submission to terminal status. */
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3_600_000)
    .optional(),
  nodes: z.array(z.unknown()).min(1, 'a workflow needs at least one node').max(DEFINITION_LIMITS.maxNodes),
});

export type RetryPolicy = z.infer<typeof retryPolicySchema>;
export type BackoffPolicy = z.infer<typeof backoffSchema>;

interface NodeCommon {
  id: string;
  name?: string | undefined;
  dependsOn: string[];
  retry?: RetryPolicy | undefined;
  timeoutMs?: number | undefined;
  continueOnFailure: boolean;
}

/** A validated node: its `config` has been parsed by its type's schema (defaults applied). */
export type WorkflowNode = {
  [T in NodeType]: NodeCommon & { type: T; config: NodeConfigByType[T] };
}[NodeType];

export type WorkflowNodeOf<T extends NodeType> = Extract<WorkflowNode, { type: T }>;

export interface WorkflowDefinition {
  name: string;
  description?: string | undefined;
  timeoutMs?: number | undefined;
  nodes: WorkflowNode[];
}
