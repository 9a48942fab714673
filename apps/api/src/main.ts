import { HEALTH_PATHS } from '@flowtrace/api/health';
import { startTelemetry } from '@flowtrace/telemetry/sdk';
import { loadApiConfig } from './config.ts';
import { VERSION } from './version.ts';

// Configuration and telemetry first; everything instrumented (fastify, ioredis, pino) is imported after.
const config = loadApiConfig(process.env);
const telemetry = await startTelemetry({
  defaultServiceName: 'flowtrace-api',
  serviceVersion: VERSION,
  ignoredPaths: HEALTH_PATHS,
});
const { runApi } = await import('./run-api.ts');
await runApi(config, telemetry);
