import { FlowtraceError } from '@flowtrace/workflow';

/**
 * Why a running node's signal was aborted from outside the executor. The processor classifies the abort
 * by its reason, whatever error the executor threw on seeing it.
 */
export class RunStoppedError extends FlowtraceError {
  constructor(code: 'cancelled' | 'run_timeout', message: string) {
    super(code, message);
    this.name = 'RunStoppedError';
  }
}

/** The worker is shutting down: the attempt is abandoned, not failed; its job is re-delivered elsewhere. */
export class WorkerShutdownError extends Error {
  constructor() {
    super('the worker shut down before the node finished; the job will be re-delivered');
    this.name = 'WorkerShutdownError';
  }
}
