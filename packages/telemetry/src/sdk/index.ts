export { PresetIdGenerator } from './preset-id-generator.ts';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './start-telemetry.ts';
