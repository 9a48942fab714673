import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReceiverRequest, ReceiverStats, SdkSpanCounts } from './receiver-protocol.ts';
import type { RunExpectation, TraceAnalysis } from './trace-analysis.ts';

const SCRIPT = fileURLToPath(new URL('../processes/otlp-receiver-process.ts', import.meta.url));

/** The benchmark's OTLP receiver process (see `otlp-receiver-process.ts`), driven over IPC. */
export class ReceiverClient {
  readonly tracesEndpoint: string;
  readonly signalsEndpoint: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;

  private constructor(child: ChildProcess, endpoints: { traces: string; signals: string }) {
    this.#child = child;
    this.tracesEndpoint = endpoints.traces;
    this.signalsEndpoint = endpoints.signals;
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return;
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(`receiver: ${message.error}`));
      else pending?.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      for (const pending of this.#pending.values())
        pending.reject(new Error(`receiver process exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  static async start(): Promise<ReceiverClient> {
    const child = fork(SCRIPT, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const endpoints = await new Promise<{ traces: string; signals: string }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`receiver process exited with ${code} before it was ready`)),
      );
      child.once('message', (message: { ready?: { traces: string; signals: string } }) => {
        if (message.ready) resolve(message.ready);
        else reject(new Error('receiver process sent an unexpected first message'));
      });
    });
    return new ReceiverClient(child, endpoints);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * Environment for a fleet process: traces to the switchable receiver, metrics and logs to the one that
   * stays up (the signal-specific variable wins over the base endpoint in every OTLP exporter).
   */
  env(): Record<string, string> {
    return { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${this.tracesEndpoint}/v1/traces` };
  }

  #call<T>(request: ReceiverRequest): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ id, request });
    });
  }

  /** null restores 200; any other status is returned for every trace export (the collector is "down"). */
  setTraceResponse(status: number | null): Promise<void> {
    return this.#call({ kind: 'setTraceResponse', status });
  }

  stats(): Promise<ReceiverStats> {
    return this.#call({ kind: 'stats' });
  }

  sdkSpans(): Promise<SdkSpanCounts> {
    return this.#call({ kind: 'sdkSpans' });
  }

  /** Resolves with the span count once no span has arrived for `quietMs`. */
  waitQuiet(quietMs: number, timeoutMs: number): Promise<number> {
    return this.#call({ kind: 'waitQuiet', quietMs, timeoutMs });
  }

  /** Analyses the traces of `runs` among the spans held, then (by default) forgets every span. */
  analyze(runs: RunExpectation[], clear = true): Promise<TraceAnalysis> {
    return this.#call({ kind: 'analyze', runs, clear });
  }

  /**
   * The highest V8 heap used (bytes, all spaces; from the runtime metrics every process exports) per process
   * id since the last reset.
   */
  heapPeaks(reset: boolean): Promise<Record<string, number>> {
    return this.#call({ kind: 'heapPeaks', reset });
  }

  clearSpans(): Promise<void> {
    return this.#call({ kind: 'clearSpans' });
  }

  spanNames(): Promise<Record<string, number>> {
    return this.#call({ kind: 'spanNames' });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
