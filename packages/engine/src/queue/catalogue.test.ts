import { NODE_TYPES } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, nodeJobId, nodeJobSchema, QUEUE_NAMES, queueNameFor } from './catalogue.ts';

const job = {
  v: 1,
  runId: '0b0c6a8e-7d0e-4bb5-9d6a-2d3f1c0e9a11',
  nodeId: 'summarize',
  workflowId: '1c2b3a4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d',
  tenantId: '2d3c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a',
  carrier: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  backoff: { type: 'exponential', delayMs: 1_000, maxDelayMs: 30_000, jitter: 0.2 },
};

describe('the queue catalogue', () => {
  it('has one queue and retry defaults per node type', () => {
    expect(Object.keys(QUEUE_NAMES).sort()).toEqual([...NODE_TYPES].sort());
    expect(Object.keys(DEFAULT_RETRY).sort()).toEqual([...NODE_TYPES].sort());
    expect(NODE_TYPES.map(queueNameFor)).toEqual(NODE_TYPES.map((type) => `nodes.${type}`));
    for (const type of NODE_TYPES) expect(DEFAULT_RETRY[type].attempts, type).toBeGreaterThanOrEqual(1);
  });

  it('names a job by its run and node, without the ":" BullMQ job ids may not contain', () => {
    expect(nodeJobId(job.runId, 'summarize')).toBe(`${job.runId}.summarize`);
    expect(nodeJobId(job.runId, 'summarize')).not.toContain(':');
  });
});

describe('nodeJobSchema', () => {
  it('accepts a job and defaults its span links', () => {
    expect(nodeJobSchema.parse(job)).toEqual({ ...job, links: [] });
  });

  it.each([
    ['another payload version', { v: 2 }],
    ['a run id that is not a UUID', { runId: 'run-1' }],
    ['an empty node id', { nodeId: '' }],
    ['an over-long node id', { nodeId: 'n'.repeat(65) }],
    ['an oversized traceparent', { carrier: { traceparent: 'x'.repeat(129) } }],
    ['an oversized tracestate', { carrier: { tracestate: 'x'.repeat(1025) } }],
    ['an oversized baggage', { carrier: { baggage: 'x'.repeat(8193) } }],
    [
      'a span link with a malformed trace id',
      { links: [{ traceId: 'XYZ', spanId: 'b'.repeat(16), traceFlags: 1 }] },
    ],
    [
      'more than 64 span links',
      {
        links: Array.from({ length: 65 }, () => ({
          traceId: 'a'.repeat(32),
          spanId: 'b'.repeat(16),
          traceFlags: 1,
        })),
      },
    ],
    ['a jitter above 1', { backoff: { ...job.backoff, jitter: 1.5 } }],
    ['a negative delay', { backoff: { ...job.backoff, delayMs: -1 } }],
  ])('refuses %s', (_what, change) => {
    expect(nodeJobSchema.safeParse({ ...job, ...change }).success).toBe(false);
  });
});
