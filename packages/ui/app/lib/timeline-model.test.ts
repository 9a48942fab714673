import { describe, expect, it } from 'vitest';
import type { RunDetail, RunEvent, RunNode } from '../api/types.ts';
import { buildTimeline, inGraphOrder } from './timeline-model.ts';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

function node(nodeId: string, fields: Partial<RunNode>): RunNode {
  return {
    nodeId,
    type: 'connector',
    status: 'pending',
    attempts: 0,
    maxAttempts: 3,
    output: null,
    error: null,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    spanId: null,
    dependsOn: [],
    usage: { inputTokens: 0, outputTokens: 0, costUsd: null },
    reused: false,
    input: null,
    ...fields,
  };
}

function run(nodes: RunNode[], finishedAt: string | null = null): RunDetail {
  return {
    id: 'r',
    workflowId: 'w',
    workflowName: 'wf',
    workflowVersion: 1,
    status: finishedAt ? 'completed' : 'running',
    createdAt: at(0),
    startedAt: at(10),
    finishedAt,
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
    nodes,
  };
}

let seq = 0;
const event = (type: string, nodeId: string, attempt: number | null, offsetMs: number): RunEvent => {
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
    createdAt: at(offsetMs),
  };
};

describe('buildTimeline', () => {
  it('shows waiting, a retried attempt, the backoff and the completed attempt', () => {
    const timeline = buildTimeline(
      run(
        [node('fetch', { status: 'completed', attempts: 2, queuedAt: at(0), finishedAt: at(900) })],
        at(1_000),
      ),
      [
        event('node.started', 'fetch', 1, 100),
        event('node.retried', 'fetch', 1, 300),
        event('node.started', 'fetch', 2, 500),
        event('node.completed', 'fetch', 2, 900),
      ],
    );
    expect(timeline.start).toBe(T0);
    expect(timeline.end).toBe(T0 + 1_000);
    expect(timeline.rows[0]?.segments.map((s) => [s.kind, s.start - T0, s.end - T0, s.attempt])).toEqual([
      ['waiting', 0, 100, 1],
      ['retried', 100, 300, 1],
      ['waiting', 300, 500, 2],
      ['completed', 500, 900, 2],
    ]);
    expect(timeline.rows[0]?.attempts).toBe(2);
  });

  it('keeps a running attempt and a pending node open until now', () => {
    const now = T0 + 2_000;
    const timeline = buildTimeline(
      run([
        node('a', { status: 'running', attempts: 1, queuedAt: at(0), startedAt: at(200) }),
        node('b', { status: 'pending' }),
        node('c', { status: 'queued', queuedAt: at(1_500) }),
      ]),
      [event('node.started', 'a', 1, 200)],
      now,
    );
    const [a, b, c] = timeline.rows;
    expect(a?.segments.at(-1)).toMatchObject({ kind: 'running', end: now, open: true });
    expect(b?.segments).toEqual([]);
    expect(c?.segments).toEqual([{ kind: 'waiting', start: T0 + 1_500, end: now, attempt: 1, open: true }]);
    expect(timeline.end).toBe(now);
  });

  it('falls back to the node timestamps when there are no events', () => {
    const timeline = buildTimeline(
      run(
        [
          node('x', {
            status: 'failed',
            attempts: 1,
            queuedAt: at(0),
            startedAt: at(50),
            finishedAt: at(400),
          }),
        ],
        at(500),
      ),
      [],
    );
    expect(timeline.rows[0]?.segments.map((s) => [s.kind, s.start - T0, s.end - T0])).toEqual([
      ['waiting', 0, 50],
      ['failed', 50, 400],
    ]);
  });

  it('closes an attempt whose closing event has not arrived when the node row has finished', () => {
    const timeline = buildTimeline(
      run([
        node('a', {
          status: 'completed',
          attempts: 1,
          queuedAt: at(0),
          startedAt: at(10),
          finishedAt: at(60),
        }),
      ]),
      [event('node.started', 'a', 1, 10)],
      T0 + 5_000,
    );
    expect(timeline.rows[0]?.segments.at(-1)).toMatchObject({ kind: 'completed', end: T0 + 60, open: false });
  });

  it('lists nodes in graph order, whatever order the API sent them in', () => {
    const nodes = [
      node('notify', { dependsOn: ['reply'] }),
      node('reply', { dependsOn: ['a', 'b'] }),
      node('b', { dependsOn: ['a'] }),
      node('a', { dependsOn: [] }),
      node('side', {}),
    ];
    expect(inGraphOrder(nodes).map((n) => n.nodeId)).toEqual(['a', 'side', 'b', 'reply', 'notify']);
    expect(buildTimeline(run(nodes), []).rows.map((r) => r.nodeId)).toEqual([
      'a',
      'side',
      'b',
      'reply',
      'notify',
    ]);
  });
});
