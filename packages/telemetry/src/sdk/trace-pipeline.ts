import type { MeterProvider } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  BatchSpanProcessor,
  type BatchSpanProcessorOptions,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

function nonNegative(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

type BufferConfig = Pick<
  BatchSpanProcessorOptions,
  'maxQueueSize' | 'scheduledDelayMillis' | 'exportTimeoutMillis' | 'maxExportBatchSize'
>;

/** The `OTEL_BSP_*` settings that are set; the processor's own defaults apply to the others. */
function bufferConfig(env: NodeJS.ProcessEnv): BufferConfig {
  const settings: [keyof BufferConfig, string][] = [
    ['maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE'],
    ['scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY'],
    ['exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT'],
    ['maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
  ];
  const config: BufferConfig = {};
  for (const [option, name] of settings) {
    const value = nonNegative(env, name);
    if (value !== undefined) config[option] = value;
  }
  return config;
}

/**
 * The OTLP/HTTP trace export the SDK would build from the environment (`OTEL_TRACES_EXPORTER=otlp`,
 * `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` http/protobuf or http/json, `OTEL_BSP_*`), built here so that
 * the batch processor reports its own health (spans processed, dropped, queue size) through `selfObs`.
 * Undefined for any other setup (grpc, console, several exporters), which the SDK then builds itself.
 */
export function createTraceProcessors(
  env: NodeJS.ProcessEnv,
  selfObs: MeterProvider,
): SpanProcessor[] | undefined {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (exporters.includes('none')) return [];
  if (exporters.length !== 1 || exporters[0] !== 'otlp') return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  const exporter =
    protocol === 'http/protobuf'
      ? new OTLPProtoTraceExporter()
      : protocol === 'http/json'
        ? new OTLPJsonTraceExporter()
        : undefined;
  if (!exporter) return undefined;
  return [
    new BatchSpanProcessor({
      exporter,
      selfObsMeterProvider: selfObs,
      ...bufferConfig(env),
    }),
  ];
}
