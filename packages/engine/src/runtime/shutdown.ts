import type { Logger } from '@flowtrace/telemetry';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * On SIGTERM or SIGINT, runs the steps in order (stop intake, drain, close connections, flush telemetry)
 * and exits 0; exits 1 when a step fails or the whole shutdown outlasts `timeoutMs`. A second signal
 * exits at once.
 */
export function installShutdown(options: {
  logger: Logger;
  timeoutMs: number;
  steps: readonly ShutdownStep[];
}): {
  shutdown: (reason: string) => Promise<void>;
} {
  let started = false;
  const shutdown = async (reason: string): Promise<void> => {
    if (started) return;
    started = true;
    options.logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, options.timeoutMs);
    timer.unref();
    let code = 0;
    for (const step of options.steps) {
      try {
        await step.run();
      } catch (error) {
        code = 1;
        options.logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    process.exit(code);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (started) process.exit(1);
      void shutdown(signal);
    });
  }
  return { shutdown };
}
