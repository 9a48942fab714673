export { type InMemoryTracing, startInMemoryTracing } from './in-memory-tracing.ts';
