import type { WorkflowNode } from '@flowtrace/workflow';
import { type BackoffSettings, DEFAULT_RETRY } from './catalogue.ts';

export interface NodeRetrySettings {
  maxAttempts: number;
  backoff: BackoffSettings;
}

/** The node's retry policy with the type's defaults filled in. */
export function retrySettingsFor(node: WorkflowNode): NodeRetrySettings {
  const defaults = DEFAULT_RETRY[node.type];
  const backoff = node.retry?.backoff;
  return {
    maxAttempts: node.retry?.attempts ?? defaults.attempts,
    backoff: {
      type: backoff?.type ?? 'exponential',
      delayMs: backoff?.delayMs ?? defaults.delayMs,
      maxDelayMs: backoff?.maxDelayMs ?? defaults.maxDelayMs,
      jitter: backoff?.jitter ?? 0.2,
    },
  };
}

/**
 * Delay before retry number `attemptsMade` (1 after the first failure). A server's Retry-After wins
 * when it asks for longer than the policy would wait.
 */
export function backoffDelay(
  settings: BackoffSettings,
  attemptsMade: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const base =
    settings.type === 'fixed'
      ? settings.delayMs
      : Math.min(settings.maxDelayMs, settings.delayMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = base * (1 - settings.jitter * random());
  const delay = Math.max(0, Math.round(jittered));
  return retryAfterMs !== undefined && retryAfterMs > delay ? retryAfterMs : delay;
}
