import { pgEnum } from 'drizzle-orm/pg-core';

export const runStatus = pgEnum('run_status', ['queued', 'running', 'completed', 'failed', 'cancelled']);
export const nodeStatus = pgEnum('node_status', [
  'pending',
  'queued',
  'running',
  'completed',
  'failed',
  'skipped',
  'cancelled',
]);

export type RunStatus = (typeof runStatus.enumValues)[number];
export type NodeStatus = (typeof nodeStatus.enumValues)[number];

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];
