import { readFileSync } from 'node:fs';
import protobuf, { type IConversionOptions, type Type } from 'protobufjs';
import type { OtlpLogsRequest, OtlpMetricsRequest, OtlpTracesRequest } from './otlp-model.ts';

/**
 * Decodes the `application/x-protobuf` bodies of OTLP/HTTP export requests with protobufjs, into the
 * OTLP/JSON object model that `otlp-json.ts` flattens for both encodings.
 *
 * Why protobuf at all: `http/protobuf` is the OpenTelemetry SDK's default export format and what our
 * processes send to a real collector, so the fleet tests and the benchmark export it to this receiver
 * too: exporting `http/json` only for tests would leave the default path (exporter choice, encoding,
 * its cost in the benchmark's figures) untested.
 *
 * Why the definitions live in `otlp.proto` beside this file: no maintained npm package ships the
 * current opentelemetry-proto files (the OpenTelemetry JS exporters serialize with generated code and
 * ship no `.proto`; `@elastic/mockotlpserver` ships v1.4.0, which lacks `LogRecord.event_name`, and
 * brings gRPC and a second `@opentelemetry/core`). The file transcribes the upstream messages the
 * receiver reads; the round-trip tests through the SDK's own protobuf exporters hold it to them.
 */

const root = protobuf.parse(readFileSync(new URL('./otlp.proto', import.meta.url), 'utf8')).root;
const TRACES = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const METRICS = root.lookupType('opentelemetry.proto.ExportMetricsServiceRequest');
const LOGS = root.lookupType('opentelemetry.proto.ExportLogsServiceRequest');

/**
 * 64-bit integers as bigint (timestamps in nanoseconds are beyond 2^53); enums as their numbers; bytes
 * as the decoded `Buffer`s, which are views of the request body: `otlp-json.ts` turns ids into hex and
 * copies byte attributes, so no stored record holds on to the body.
 */
const CONVERSION: IConversionOptions = { longs: BigInt };

function decode(type: Type, body: Uint8Array): unknown {
  return type.toObject(type.decode(body), CONVERSION);
}

/** Decodes the body of `POST /v1/traces`: `ExportTraceServiceRequest`. */
export function decodeTracesRequest(body: Uint8Array): OtlpTracesRequest {
  return decode(TRACES, body) as OtlpTracesRequest;
}

/** Decodes the body of `POST /v1/metrics`: `ExportMetricsServiceRequest`. */
export function decodeMetricsRequest(body: Uint8Array): OtlpMetricsRequest {
  return decode(METRICS, body) as OtlpMetricsRequest;
}

/** Decodes the body of `POST /v1/logs`: `ExportLogsServiceRequest`. */
export function decodeLogsRequest(body: Uint8Array): OtlpLogsRequest {
  return decode(LOGS, body) as OtlpLogsRequest;
}
