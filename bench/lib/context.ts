import { BenchStack } from './bench-stack.ts';
import type { BenchPlan } from './plan.ts';
import type { ReceiverClient } from './receiver-client.ts';
import type { TraceAnalysis } from './trace-analysis.ts';

export interface StackSpec {
  name: string;
  traced: boolean;
  llmWorkers: number;
  /** Extra environment for every process of the fleet. */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
}

/** What every scenario gets: the plan, the receiver process, a way to get fleets, and a log. */
export class BenchContext {
  readonly plan: BenchPlan;
  readonly smoke: boolean;
  readonly receiver: ReceiverClient;
  readonly logsDir: string;
  readonly redisUrl: string;
  /** Trace analyses of traced runs, by the phase that produced them (scenario 7 sums them). */
  readonly analyses: { label: string; analysis: Omit<TraceAnalysis, 'hops'> }[] = [];
  /** Traced fleets that were stopped, with their process ids; `lossy` ones had their collector down. */
  readonly fleets: { name: string; pids: number[]; lossy: boolean }[] = [];
  readonly #lossy = new Set<BenchStack>();
  readonly #shared = new Map<boolean, BenchStack>();
  /** Every fleet started and not yet stopped, for an emergency stop (timeout, Ctrl-C). */
  readonly #live = new Set<BenchStack>();
  readonly #log: (line: string) => void;

  constructor(options: {
    plan: BenchPlan;
    smoke: boolean;
    receiver: ReceiverClient;
    logsDir: string;
    redisUrl: string;
    log: (line: string) => void;
  }) {
    this.plan = options.plan;
    this.smoke = options.smoke;
    this.receiver = options.receiver;
    this.logsDir = options.logsDir;
    this.redisUrl = options.redisUrl;
    this.#log = options.log;
  }

  log(line: string): void {
    this.#log(line);
  }

  /**
   * A fleet for a scenario. The full benchmark gives every scenario fresh ones (database, BullMQ prefix,
   * processes) and stops them in `release`; the smoke run shares one traced and one untraced fleet across
   * scenarios, because starting processes is most of its time budget.
   */
  async acquire(spec: StackSpec): Promise<BenchStack> {
    if (this.smoke) {
      let stack = this.#shared.get(spec.traced);
      if (!stack) {
        stack = await this.#start({
          ...spec,
          name: `smoke-${spec.traced ? 'traced' : 'untraced'}`,
          llmWorkers: 1,
        });
        this.#shared.set(spec.traced, stack);
      }
      if (spec.llmWorkers > stack.workers.length) await stack.scaleWorkers(spec.llmWorkers);
      return stack;
    }
    return this.#start(spec);
  }

  async release(stack: BenchStack): Promise<void> {
    if (this.smoke) return;
    this.#live.delete(stack);
    await stack.stop();
    this.#record(stack);
  }

  /**
   * A fleet of the scenario's own, even in the smoke run, for settings the shared fleets cannot have (a
   * fleet-wide queue order, a slow provider). Stop it with `stopDedicated`.
   */
  startDedicated(spec: StackSpec): Promise<BenchStack> {
    return this.#start(spec);
  }

  async stopDedicated(stack: BenchStack): Promise<void> {
    this.#live.delete(stack);
    await stack.stop();
    this.#record(stack);
  }

  /** Stops every fleet still running (after a failure or an interrupt). */
  async stopEverything(): Promise<void> {
    const live = [...this.#live];
    this.#live.clear();
    this.#shared.clear();
    await Promise.all(live.map((s) => s.stop()));
  }

  /** Marks a fleet whose spans were dropped on purpose (scenario 5): not part of completeness. */
  markLossy(stack: BenchStack): void {
    this.#lossy.add(stack);
  }

  #record(stack: BenchStack): void {
    if (stack.traced)
      this.fleets.push({ name: stack.name, pids: stack.allPids(), lossy: this.#lossy.has(stack) });
  }

  /** Starts both smoke fleets at once (they are the smoke run's largest fixed cost). */
  async prestartShared(): Promise<void> {
    if (!this.smoke) return;
    await Promise.all([
      this.acquire({ name: 'smoke', traced: true, llmWorkers: 1 }),
      this.acquire({ name: 'smoke', traced: false, llmWorkers: 1 }),
    ]);
  }

  async close(): Promise<void> {
    for (const stack of this.#shared.values()) this.#live.delete(stack);
    await Promise.all([...this.#shared.values()].map((s) => s.stop()));
    for (const stack of this.#shared.values()) this.#record(stack);
    this.#shared.clear();
  }

  async #start(spec: StackSpec): Promise<BenchStack> {
    this.log(
      `  starting fleet ${spec.name} (${spec.traced ? 'traced' : 'untraced'}, ${spec.llmWorkers} llm worker(s))`,
    );
    const stack = await BenchStack.start({
      name: spec.name,
      traced: spec.traced,
      receiver: this.receiver,
      logsDir: this.logsDir,
      redisUrl: this.redisUrl,
      llmWorkers: spec.llmWorkers,
      env: { WORKER_CONCURRENCY: String(this.plan.concurrency), ...spec.env },
      ...(spec.workerEnv ? { workerEnv: spec.workerEnv } : {}),
    });
    this.#live.add(stack);
    return stack;
  }

  /** Analyses the traces of `runs` (the receiver then forgets its spans) and keeps the result for scenario 7. */
  async analyze(label: string, runs: Parameters<ReceiverClient['analyze']>[0]): Promise<TraceAnalysis> {
    await this.receiver.waitQuiet(1_200, 30_000);
    const analysis = await this.receiver.analyze(runs);
    const { hops: _hops, ...rest } = analysis;
    this.analyses.push({ label, analysis: rest });
    return analysis;
  }
}
