import { parseArgs } from 'node:util';
import { startTelemetry } from '@flowtrace/telemetry/sdk';
import { loadWorkerConfig } from './config.ts';
import { VERSION } from './version.ts';

// `npm run worker -- --kinds llm,rag`. Configuration and telemetry first; instrumented modules after.
const { values } = parseArgs({ options: { kinds: { type: 'string' } }, allowPositionals: false });
const config = loadWorkerConfig(process.env, values.kinds);
const telemetry = await startTelemetry({
  // One service per fleet, so SigNoz shows each node type's workers on their own.
  defaultServiceName: config.kinds.length === 1 ? `flowtrace-worker-${config.kinds[0]}` : 'flowtrace-worker',
  serviceVersion: VERSION,
});
const { runWorker } = await import('./run-worker.ts');
await runWorker(config, telemetry);
