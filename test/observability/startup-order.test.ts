import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * Instrumentation hooks modules as they are imported, so an app's `main` must start telemetry before any
 * instrumented module (pino, ioredis, bullmq, fastify, undici users) loads. This imports exactly what each
 * `main.ts` imports statically and checks, with a module resolution hook, that none of them came along.
 */
describe('apps start telemetry before loading instrumented modules', () => {
  it.each([
    [
      'api',
      [
        './apps/api/src/config.ts',
        './apps/api/src/version.ts',
        '@flowtrace/api/health',
        '@flowtrace/telemetry/sdk',
      ],
    ],
    ['worker', ['./apps/worker/src/config.ts', './apps/worker/src/version.ts', '@flowtrace/telemetry/sdk']],
  ])('%s main imports nothing instrumented before startTelemetry', async (_app, modules) => {
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
      for (const m of ${JSON.stringify(modules)}) await import(m);
      console.log(JSON.stringify(seen));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
    });
    const loaded = JSON.parse(stdout) as string[];
    const instrumented = loaded.filter((url) =>
      /node_modules\/(pino|ioredis|bullmq|fastify|undici|openai|@anthropic-ai)\//.test(url),
    );
    expect(instrumented).toEqual([]);
    expect(loaded.some((url) => url.includes('@opentelemetry/sdk-node'))).toBe(true);
  });
});
