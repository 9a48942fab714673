import { describe, expect, it } from 'vitest';
import { RunSignals } from './run-signals.ts';

describe('RunSignals', () => {
  it("aborts only the named run's nodes, with the reason, and reports how many", () => {
    const signals = new RunSignals();
    const a1 = signals.track('run-a');
    const a2 = signals.track('run-a');
    const b = signals.track('run-b');
    expect(signals.size).toBe(3);
    const reason = new Error('cancelled');
    expect(signals.abortRun('run-a', reason)).toBe(2);
    expect(a1.controller.signal.aborted).toBe(true);
    expect(a1.controller.signal.reason).toBe(reason);
    expect(a2.controller.signal.reason).toBe(reason);
    expect(b.controller.signal.aborted).toBe(false);
    expect(signals.abortRun('run-unknown', reason)).toBe(0);
  });

  it('forgets released nodes, and a run once its last node is released', () => {
    const signals = new RunSignals();
    const first = signals.track('run');
    const second = signals.track('run');
    first.release();
    expect(signals.size).toBe(1);
    expect(signals.abortRun('run', 'stop')).toBe(1);
    expect(first.controller.signal.aborted).toBe(false);
    second.release();
    second.release();
    expect(signals.size).toBe(0);
    expect(signals.abortRun('run', 'stop')).toBe(0);
  });

  it('aborts every node of every run on shutdown', () => {
    const signals = new RunSignals();
    const tracked = [signals.track('a'), signals.track('b'), signals.track('b')];
    const reason = new Error('shutting down');
    signals.abortAll(reason);
    expect(tracked.map((t) => t.controller.signal.reason)).toEqual([reason, reason, reason]);
  });
});
