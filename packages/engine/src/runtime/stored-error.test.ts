import { FlowtraceError, PermanentNodeError, TransientNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { RunStoppedError, WorkerShutdownError } from './stop-reasons.ts';
import { toStoredError } from './stored-error.ts';

describe('toStoredError', () => {
  it('keeps the code, message and details of catalogue errors, under the failing node', () => {
    const error = new PermanentNodeError('connector_blocked', 'blocked 10.0.0.1', {
      nodeId: 'other',
      details: { host: '10.0.0.1' },
    });
    expect(toStoredError(error, 'call')).toEqual({
      code: 'connector_blocked',
      message: 'blocked 10.0.0.1',
      nodeId: 'call',
      details: { host: '10.0.0.1' },
    });
    expect(toStoredError(new TransientNodeError('provider_error', 'overloaded'), 'ask')).toEqual({
      code: 'provider_error',
      message: 'overloaded',
      nodeId: 'ask',
    });
  });

  it('records why a run stopped a node', () => {
    expect(toStoredError(new RunStoppedError('cancelled', 'the run was cancelled'), 'slow')).toEqual({
      code: 'cancelled',
      message: 'the run was cancelled',
      nodeId: 'slow',
    });
    expect(new RunStoppedError('run_timeout', 'x')).toBeInstanceOf(FlowtraceError);
    expect(new RunStoppedError('run_timeout', 'x').statusCode).toBe(504);
  });

  it('stores other errors as node_failed with their message and never their stack', () => {
    const error = new TypeError('cannot read properties of undefined');
    const stored = toStoredError(error, 'n');
    expect(stored).toEqual({
      code: 'node_failed',
      message: 'cannot read properties of undefined',
      nodeId: 'n',
    });
    expect(JSON.stringify(stored)).not.toContain('at ');
    expect(toStoredError('plain string', 'n')).toEqual({
      code: 'node_failed',
      message: 'plain string',
      nodeId: 'n',
    });
    expect(toStoredError(undefined, 'n')).toEqual({ code: 'node_failed', message: 'undefined', nodeId: 'n' });
    expect(toStoredError(new WorkerShutdownError(), 'n')).toMatchObject({
      code: 'node_failed',
      message: 'the worker shut down before the node finished; the job will be re-delivered',
    });
  });
});
