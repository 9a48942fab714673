import { describe, expect, it } from 'vitest';
import type { RunDetail, RunEvent } from '../api/types.ts';
import { applyEvent } from './apply-event.ts';

const base: RunDetail = {
  id: 'r',
  workflowId: 'w',
  workflowName: 'wf',
  workflowVersion: 1,
  status: 'queued',
  createdAt: '2026-03-01T10:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  traceId: 't',
  traceUrl: '',
  usage: { modelCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: null },
  input: {},
  output: null,
  error: null,
  idempotencyKey: null,
  sampled: true,
  replayOf: null,
  replays: [],
  nodes: [
    {
      nodeId: 'a',
      type: 'llm',
      status: 'queued',
      attempts: 0,
      maxAttempts: 3,
      output: null,
      error: null,
      queuedAt: '2026-03-01T10:00:00.000Z',
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      spanId: null,
      dependsOn: [],
      usage: { inputTokens: 0, outputTokens: 0, costUsd: null },
      reused: false,
      input: null,
    },
  ],
};

let seq = 0;
const event = (type: string, nodeId: string | null = null, attempt: number | null = null): RunEvent => {
  seq += 1;
  return {
    id: seq,
    seq,
    type,
    nodeId,
    attempt,
    message: null,
    data: null,
    traceId: 't',
    spanId: null,
    createdAt: `2026-03-01T10:00:0${seq % 10}.000Z`,
  };
};

describe('applyEvent', () => {
  it('moves a node through running, a retry and completion', () => {
    let run = applyEvent(base, event('run.started'));
    expect(run.status).toBe('running');
    run = applyEvent(run, event('node.started', 'a', 1));
    expect(run.nodes[0]).toMatchObject({ status: 'running', attempts: 1, finishedAt: null });
    run = applyEvent(run, event('node.retried', 'a', 1));
    expect(run.nodes[0]?.status).toBe('queued');
    run = applyEvent(run, event('node.started', 'a', 2));
    const completed = event('node.completed', 'a', 2);
    run = applyEvent(run, completed);
    expect(run.nodes[0]).toMatchObject({ status: 'completed', attempts: 2, finishedAt: completed.createdAt });
  });

  it('never reopens a finished node or run, and ignores stale attempts and unknown nodes', () => {
    const finished = applyEvent(applyEvent(base, event('node.failed', 'a', 1)), event('run.failed'));
    expect(finished.status).toBe('failed');
    expect(applyEvent(finished, event('node.started', 'a', 2))).toBe(finished);
    expect(applyEvent(finished, event('run.started'))).toBe(finished);
    const running = applyEvent(base, event('node.started', 'a', 2));
    expect(applyEvent(running, event('node.retried', 'a', 1))).toBe(running);
    expect(applyEvent(base, event('node.started', 'zzz', 1))).toBe(base);
  });
});
