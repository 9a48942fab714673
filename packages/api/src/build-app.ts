import fastifySwagger from '@fastify/swagger';
import type {
  RunEventHub,
  RunQueries,
  RunReplayer,
  RunRepository,
  RunSubmitter,
  RunTerminator,
  UsageReport,
} from '@flowtrace/engine';
import type { Logger } from '@flowtrace/telemetry';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginCallback,
  LogController,
} from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ApiKeyStore } from './auth/api-key-store.ts';
import { bearerAuth } from './auth/authenticate.ts';
import { clientErrorHandler } from './http/client-error.ts';
import { frameworkErrorHandler, registerErrorHandling } from './http/error-handler.ts';
import { registerRequestGuard } from './http/request-guard.ts';
import { collectionRoutes, type IngestDocuments } from './routes/collection-routes.ts';
import { HEALTH_PATHS, healthRoutes, type ReadinessCheck } from './routes/health-routes.ts';
import { replayRoutes } from './routes/replay-routes.ts';
import { runListRoutes } from './routes/run-list-routes.ts';
import { runRoutes } from './routes/run-routes.ts';
import { runStreamRoutes } from './routes/run-stream-routes.ts';
import { type TenantRouteDeps, tenantRoutes } from './routes/tenant-routes.ts';
import { uiRoutes } from './routes/ui-routes.ts';
import { usageRoutes } from './routes/usage-routes.ts';
import { workflowRoutes } from './routes/workflow-routes.ts';

export interface AppDeps {
  repository: RunRepository;
  submitter: RunSubmitter;
  terminator: RunTerminator;
  /** Read models of the run console: runs list, agent steps, stream positions. */
  queries: RunQueries;
  replayer: RunReplayer;
  /** Live events for `/events/stream`; undefined when this process follows none (the route answers 503). */
  events?: RunEventHub | undefined;
  apiKeys: ApiKeyStore;
  readiness: readonly ReadinessCheck[];
  logger: Logger;
  /** RAG ingestion; undefined when no vector store is configured (the route then answers 503). */
  ingest?: IngestDocuments | undefined;
  /** `@fastify/otel`'s plugin when telemetry is on: request and handler spans with the route. */
  otelPlugin?: FastifyPluginCallback | undefined;
  /** Tenant limits and usage: `GET/PUT /v1/tenant/limits`, `GET /v1/usage` (not served without it). */
  governance?: (TenantRouteDeps & { usage: UsageReport }) | undefined;
}

export interface AppOptions {
  /** Base URL of the SigNoz UI, for trace links (`<url>/trace/<traceId>`). */
  signozUrl: string;
  /** Largest request body, in bytes. */
  bodyLimit?: number;
  /** Largest request head (request line and headers), in bytes; larger requests get a 431. Node's default is 16 KiB. */
  maxHeaderSize?: number;
  /** How often an idle event stream gets a `: ping` comment (default 15 s). */
  streamHeartbeatMs?: number;
  /** Event streams one tenant may hold open on this process (default 1000). */
  streamMaxPerTenant?: number;
  version: string;
}

/** Builds the HTTP API (not listening): tests use `app.inject()`, `apps/api` calls `listen`. */
export async function buildApp(deps: AppDeps, options: AppOptions): Promise<FastifyInstance> {
  const maxHeaderSize = options.maxHeaderSize ?? 16 * 1024;
  const app = Fastify({
    // Typed as Fastify's base logger so the instance keeps Fastify's default generics.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Requests are logged once, on response, by the hook below (with route and duration).
    logController: new LogController({ disableRequestLogging: true }),
    http: { maxHeaderSize },
    // Errors Node's HTTP parser raises before routing (431, malformed headers) in the API's error format.
    clientErrorHandler: clientErrorHandler({ maxHeaderSize, logger: deps.logger as FastifyBaseLogger }),
    // And those Fastify's router raises before any hook (malformed percent-encoding, overlong parameters).
    frameworkErrors: frameworkErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  registerErrorHandling(app);
  registerRequestGuard(app);
  if (deps.otelPlugin) await app.register(deps.otelPlugin);

  const healthPaths = new Set<string>(HEALTH_PATHS);
  app.addHook('onResponse', async (request, reply) => {
    if (healthPaths.has(request.url)) return;
    const fields = {
      method: request.method,
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) request.log.error(fields, 'request failed');
    else request.log.info(fields, 'request completed');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'flowtrace API',
        description: 'Submit AI workflow runs and follow each as one OpenTelemetry trace.',
        version: options.version,
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from `npm run apikey`' },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });

  healthRoutes(app, { checks: deps.readiness });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const traceUrl = (traceId: string) => `${options.signozUrl.replace(/\/+$/, '')}/trace/${traceId}`;
  await app.register(async function v1Api(v1) {
    v1.addHook('onRequest', bearerAuth(deps.apiKeys));
    workflowRoutes(v1, { repository: deps.repository, submitter: deps.submitter });
    runRoutes(v1, {
      repository: deps.repository,
      submitter: deps.submitter,
      terminator: deps.terminator,
      traceUrl,
    });
    runListRoutes(v1, { queries: deps.queries, traceUrl });
    runStreamRoutes(v1, {
      queries: deps.queries,
      events: deps.events,
      heartbeatMs: options.streamHeartbeatMs ?? 15_000,
      maxStreamsPerTenant: options.streamMaxPerTenant ?? 1_000,
    });
    replayRoutes(v1, { replayer: deps.replayer, traceUrl });
    collectionRoutes(v1, { ingest: deps.ingest });
    if (deps.governance) {
      tenantRoutes(v1, deps.governance);
      usageRoutes(v1, deps.governance);
    }
  });
  await app.register(uiRoutes);
  return app;
}
