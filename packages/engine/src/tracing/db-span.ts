import { semconv, withSpan } from '@flowtrace/telemetry';
import { SpanKind, type Tracer } from '@opentelemetry/api';

/**
 * postgres.js has no OpenTelemetry instrumentation, so the stores open one CLIENT span per database
 * operation, named by its query summary: `VERB table` for a plain statement, or the engine operation a
 * multi-table statement or transaction performs (`claim_node`, `finish_node`, `create_run`, ...).
 */
export function withDbSpan<T>(tracer: Tracer, summary: string, fn: () => Promise<T>): Promise<T> {
  const [operation, collection] = summary.split(' ');
  return withSpan(
    tracer,
    summary,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [semconv.ATTR_DB_SYSTEM_NAME]: semconv.DB_SYSTEM_NAME_VALUE_POSTGRESQL,
        [semconv.ATTR_DB_QUERY_SUMMARY]: summary,
        ...(operation ? { [semconv.ATTR_DB_OPERATION_NAME]: operation } : {}),
        ...(collection ? { [semconv.ATTR_DB_COLLECTION_NAME]: collection } : {}),
      },
    },
    fn,
  );
}
