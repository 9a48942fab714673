export {
  ApiKeyStore,
  type ApiKeySummary,
  type ApiPrincipal,
  type CreatedApiKey,
} from './auth/api-key-store.ts';
export { type AppDeps, type AppOptions, buildApp } from './build-app.ts';
export type { IngestBody, IngestDocuments, IngestResult } from './routes/collection-routes.ts';
export { HEALTH_PATHS, type ReadinessCheck } from './routes/health-routes.ts';
