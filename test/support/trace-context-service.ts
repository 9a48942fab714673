/**
 * Serves the product to the W3C Trace Context test harness: a fresh test database, the API and one
 * connector worker as child processes, and the adapter in front of them. Run it, then in the harness's
 * `test/` folder (a checkout of github.com/w3c/trace-context, not part of this repository):
 *
 *   node test/support/trace-context-service.ts            # prints SERVICE_ENDPOINT
 *   SPEC_LEVEL=2 STRICT_LEVEL=2 python3 test.py http://127.0.0.1:5001/
 *
 * `--sdk-off` starts the processes with OTEL_SDK_DISABLED=true; `--port N` picks the adapter's port.
 */
import { createTestDatabase } from '@flowtrace/db/testing';
import { startLocalStack } from '@flowtrace/local-stack';
import { startTraceContextAdapter } from './trace-context-adapter.ts';

const args = process.argv.slice(2);
const sdkOff = args.includes('--sdk-off');
const portIndex = args.indexOf('--port');
const port = portIndex >= 0 ? Number(args[portIndex + 1]) : 5001;

const db = await createTestDatabase();
const stack = await startLocalStack({
  dataDir: `/tmp/flowtrace-trace-context-${process.pid}`,
  databaseUrl: db.url,
  workers: [{ kinds: ['connector'] }],
  env: {
    LOG_LEVEL: 'info',
    // The harness listens on loopback.
    FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
    ...(sdkOff ? { OTEL_SDK_DISABLED: 'true' } : {}),
  },
});
const adapter = await startTraceContextAdapter({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, port });
console.log(`SERVICE_ENDPOINT=${adapter.url}${sdkOff ? ' (OTEL_SDK_DISABLED=true)' : ''}`);

const stop = async () => {
  await adapter.close();
  await stack.stop();
  await db.drop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
