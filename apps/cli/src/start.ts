import path from 'node:path';
import { parseArgs } from 'node:util';
import { StackError, startLocalStack } from '@flowtrace/local-stack';
import { startDemoCrmServer } from './demo/demo-crm-server.ts';
import { runDemo } from './demo/run-demo.ts';

/**
 * `npm start`: the API and one worker process per node type, on local Redis and an embedded Postgres
 * (or DATABASE_URL), then a demo run whose status, trace id and span tree are printed. The stack keeps
 * running for you to try the API until Ctrl-C; `--exit` (or CI=true) stops it after the demo.
 */
const { values } = parseArgs({
  options: {
    exit: { type: 'boolean', default: process.env.CI === 'true' },
    persist: { type: 'boolean', default: false },
  },
});

const passThrough = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key, value]) =>
      value !== undefined &&
      /^(FLOWTRACE_|OPENAI_|ANTHROPIC_|OTEL_|LOG_LEVEL$|WORKER_|NODE_TIMEOUT)/.test(key),
  ),
) as Record<string, string>;
const log = (line: string) => console.log(line);

const crm = await startDemoCrmServer();
let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
try {
  stack = await startLocalStack({
    dataDir: path.resolve('.data'),
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT }
      : {}),
    persistEmbeddedDatabase: values.persist,
    env: {
      LOG_LEVEL: 'info',
      ...passThrough,
      // The demo's CRM runs on loopback, which the connector's SSRF guard refuses unless allowed.
      FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: ['127.0.0.1', passThrough.FLOWTRACE_CONNECTOR_ALLOWED_HOSTS]
        .filter(Boolean)
        .join(','),
    },
    onProgress: (message) => log(`· ${message}`),
  });
  log(`· API ${stack.apiUrl}, workers: ${stack.workers.map((w) => w.name).join(', ')} (logs in .data/logs/)`);
  const demo = await runDemo(stack, crm.url, log);
  if (crm.traceparents.length > 0) log(`\nthe demo CRM received traceparent ${crm.traceparents[0]}`);

  if (values.exit) {
    process.exitCode = demo.run.status === 'completed' ? 0 : 1;
  } else {
    log(`\nThe stack is running. API: ${stack.apiUrl}   API key: ${stack.apiKey}`);
    log(`  curl -H "authorization: Bearer ${stack.apiKey}" ${stack.apiUrl}/v1/runs/${demo.runId}`);
    log(`  Run viewer: ${stack.apiUrl}/ui/runs (sign in with the API key above)`);
    log(`  OpenAPI: ${stack.apiUrl}/openapi.json   Press Ctrl-C to stop.`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} catch (error) {
  console.error(error instanceof StackError ? `\n${error.message}` : error);
  process.exitCode = 1;
} finally {
  log('· stopping');
  await stack?.stop();
  await crm.close();
}
