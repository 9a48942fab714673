/** Size limits on what clients send. They keep one request from filling Redis, Postgres or a worker's heap. */
export const DEFINITION_LIMITS = {
  /** Serialized definition, in bytes (UTF-8). */
  maxDefinitionBytes: 256 * 1024,
  /** Serialized run input, in bytes (UTF-8). */
  maxInputBytes: 256 * 1024,
  maxNodes: 200,
  maxDependencies: 50,
  maxTools: 32,
  maxTemplateLength: 32 * 1024,
} as const;

/** Byte length of a value's JSON serialization. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
