import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface ManagedProcessOptions {
  name: string;
  /** A script run with this Node binary (TypeScript runs natively). */
  script: string;
  args?: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Where stdout and stderr are appended. */
  logFile: string;
  cwd?: string;
}

/**
 * A fleet process started as a real child process: its output goes to a log file and is kept in a short
 * in-memory tail, and callers can wait for a log line (readiness) or its exit.
 */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #tail: string[] = [];
  readonly #waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(options: ManagedProcessOptions, log: WriteStream) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.#log = log;
    this.#child = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.#onLine(line));
    }
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#log.end();
        resolve({ code, signal });
      });
    });
  }

  static async start(options: ManagedProcessOptions): Promise<ManagedProcess> {
    await mkdir(path.dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    return new ManagedProcess(options, log);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The last lines the process wrote. */
  tail(lines = 40): string {
    return this.#tail.slice(-lines).join('\n');
  }

  /** Resolves with the first line (from now, or already in the tail) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.#tail.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `${this.name} did not log ${pattern} within ${timeoutMs} ms; last output:\n${this.tail()}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
      void this.exited.then(({ code, signal }) => {
        if (!this.#waiters.has(waiter)) return;
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        reject(
          new Error(
            `${this.name} exited (code ${code}, signal ${signal}) before logging ${pattern}:\n${this.tail()}`,
          ),
        );
      });
    });
  }

  /** Sends a signal (SIGTERM asks for a graceful shutdown; SIGKILL is a crash). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if the process has not exited within `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #onLine(line: string): void {
    this.#log.write(`${line}\n`);
    this.#tail.push(line);
    if (this.#tail.length > 500) this.#tail.splice(0, this.#tail.length - 500);
    for (const waiter of this.#waiters) {
      if (waiter.pattern.test(line)) {
        this.#waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }
}
