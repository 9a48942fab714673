import { randomBytes } from 'node:crypto';
import { INVALID_SPANID, INVALID_TRACEID } from '@opentelemetry/api';

/** 16 random bytes as 32 lowercase hex digits, never the all-zero invalid id. */
export function newTraceId(): string {
  let id = randomBytes(16).toString('hex');
  while (id === INVALID_TRACEID) id = randomBytes(16).toString('hex');
  return id;
}

/** 8 random bytes as 16 lowercase hex digits, never the all-zero invalid id. */
export function newSpanId(): string {
  let id = randomBytes(8).toString('hex');
  while (id === INVALID_SPANID) id = randomBytes(8).toString('hex');
  return id;
}
