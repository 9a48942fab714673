/**
 * Workload sizes. The full plan fits the whole benchmark in about seven minutes on 2 cores; the smoke plan
 * runs every scenario with tiny counts (about a minute) to prove the harness works, not to measure.
 */
export interface BenchPlan {
  reps: number;
  rawBullmq: { jobs: number; concurrency: number };
  /** Scenario 2 takes more repetitions: its traced ÷ untraced ratio is the noisiest figure. */
  fleet: { reps: number; oneNodeRuns: number; chainRuns: number; chainLength: number; warmupRuns: number };
  api: { seconds: number; connections: number; warmupSeconds: number };
  dispatch: { chainRuns: number; perSecond: number; fanRuns: number; fanWidth: number };
  collectorDown: { chainRuns: number; reps: number };
  scaling: { workers: number[]; chainRuns: number; reps: number };
  /** Scenario 8: Server-Sent Event readers on one API process, on one run and spread over `manyRuns`. */
  streams: { subscribers: number; manyRuns: number; chainLength: number };
  /** Scenario 9: tenant a's backlog of slow runs, tenant b's probe runs, the slow node's latency. */
  fairness: { backlog: number; probes: number; latencyMs: number; concurrency: number };
  /**
   * Scenario 10: fan-out workflows of each size (nodes per run), every node answering `outputTokens` of text
   * (~4 bytes each), about `nodesPerRep` nodes per repetition.
   */
  largeOutputs: { sizes: number[]; nodesPerRep: number; outputTokens: number; reps: number };
  /** Scenario 11: worker processes per point, the provider's latency, chain runs per worker per repetition. */
  latencyScaling: { workers: number[]; latencyMs: number; runsPerWorker: number; reps: number };
  /** Worker concurrency (WORKER_CONCURRENCY), also the raw baseline's Worker concurrency. */
  concurrency: number;
}

export const FULL_PLAN: BenchPlan = {
  reps: 3,
  rawBullmq: { jobs: 20_000, concurrency: 16 },
  fleet: { reps: 5, oneNodeRuns: 1_000, chainRuns: 120, chainLength: 10, warmupRuns: 30 },
  api: { seconds: 5, connections: 16, warmupSeconds: 2 },
  dispatch: { chainRuns: 40, perSecond: 4, fanRuns: 10, fanWidth: 8 },
  collectorDown: { chainRuns: 150, reps: 3 },
  scaling: { workers: [1, 2, 4], chainRuns: 100, reps: 3 },
  streams: { subscribers: 500, manyRuns: 50, chainLength: 10 },
  fairness: { backlog: 200, probes: 20, latencyMs: 250, concurrency: 8 },
  largeOutputs: { sizes: [10, 200], nodesPerRep: 400, outputTokens: 25_600, reps: 3 },
  latencyScaling: { workers: [1, 2, 4, 8], latencyMs: 100, runsPerWorker: 32, reps: 3 },
  concurrency: 16,
};

export const SMOKE_PLAN: BenchPlan = {
  reps: 1,
  rawBullmq: { jobs: 500, concurrency: 16 },
  fleet: { reps: 1, oneNodeRuns: 20, chainRuns: 3, chainLength: 10, warmupRuns: 0 },
  api: { seconds: 1, connections: 4, warmupSeconds: 0 },
  dispatch: { chainRuns: 4, perSecond: 10, fanRuns: 2, fanWidth: 4 },
  collectorDown: { chainRuns: 4, reps: 1 },
  scaling: { workers: [1, 2], chainRuns: 4, reps: 1 },
  streams: { subscribers: 6, manyRuns: 3, chainLength: 3 },
  fairness: { backlog: 20, probes: 3, latencyMs: 100, concurrency: 4 },
  largeOutputs: { sizes: [5, 20], nodesPerRep: 20, outputTokens: 25_600, reps: 1 },
  latencyScaling: { workers: [1, 2], latencyMs: 100, runsPerWorker: 4, reps: 1 },
  concurrency: 16,
};
