/**
 * Abort controllers of the nodes this process is executing, by run, so that a run's cancellation or the
 * process's shutdown can abort them.
 */
export class RunSignals {
  readonly #byRun = new Map<string, Set<AbortController>>();

  track(runId: string): { controller: AbortController; release: () => void } {
    const controller = new AbortController();
    let set = this.#byRun.get(runId);
    if (!set) {
      set = new Set();
      this.#byRun.set(runId, set);
    }
    set.add(controller);
    return {
      controller,
      release: () => {
        set.delete(controller);
        if (set.size === 0) this.#byRun.delete(runId);
      },
    };
  }

  abortRun(runId: string, reason: unknown): number {
    const set = this.#byRun.get(runId);
    if (!set) return 0;
    for (const controller of set) controller.abort(reason);
    return set.size;
  }

  abortAll(reason: unknown): void {
    for (const runId of this.#byRun.keys()) this.abortRun(runId, reason);
  }

  get size(): number {
    let count = 0;
    for (const set of this.#byRun.values()) count += set.size;
    return count;
  }
}
