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
  /**
   * Nesting of a definition or run input (the outermost object is level 1). Deeper JSON overflows the
   * stack of recursive code (JSON.stringify, Postgres' jsonb parser) long before it is useful.
   */
  maxJsonDepth: 64,
} as const;

/**
 * Nesting of JSON the engine stores from targets and providers (outputs, tool inputs, observations).
 * Looser than the client limit: it only has to stay clear of V8's and Postgres' stack limits.
 */
export const STORED_JSON_MAX_DEPTH = 512;

/** Byte length of a value's JSON serialization. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
