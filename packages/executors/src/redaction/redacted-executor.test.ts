import {
  type AgentStepRecord,
  type ExecutionLedger,
  type JsonValue,
  NODE_CONFIG_SCHEMAS,
  type NodeExecutionContext,
  type NodeExecutor,
  TransientNodeError,
} from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../testing/silent-logger.ts';
import { withRedaction } from './redacted-executor.ts';
import { createRedactor, REDACTED } from './redactor.ts';

const SECRET = 'canary-9d2e7f41';
const redact = createRedactor({ secrets: [SECRET], headerNames: ['x-crm-key'] });

function context(ledger: ExecutionLedger): NodeExecutionContext<'connector'> {
  return {
    runId: 'run-1',
    tenantId: 'tenant-1',
    workflowId: 'wf-1',
    workflowName: 'wf',
    nodeId: 'n',
    nodeType: 'connector',
    attempt: 1,
    config: NODE_CONFIG_SCHEMAS.connector.parse({ url: 'https://api.example.com/' }),
    input: {},
    upstream: {},
    signal: new AbortController().signal,
    logger: silentLogger,
    ledger,
  };
}

function executor(
  run: (ctx: NodeExecutionContext<'connector'>) => Promise<JsonValue>,
): NodeExecutor<'connector'> {
  return { type: 'connector', execute: run };
}

describe('withRedaction', () => {
  it('redacts the output, keys and secret header values included', async () => {
    const wrapped = withRedaction(
      executor(async () => ({ status: 200, body: { echo: { 'X-Crm-Key': 'k', note: `key ${SECRET}` } } })),
      redact,
    );
    const ledger = { recordModelCall: () => undefined, recordAgentStep: () => undefined };
    expect(await wrapped.execute(context(ledger))).toEqual({
      status: 200,
      body: { echo: { 'X-Crm-Key': REDACTED, note: `key ${REDACTED}` } },
    });
    expect(wrapped.type).toBe('connector');
  });

  it('redacts the error in place, so the engine still sees its class and retry hint', async () => {
    const thrown = new TransientNodeError('connector_error', `echoed ${SECRET}`, { retryAfterMs: 1_000 });
    const wrapped = withRedaction(
      executor(async () => {
        throw thrown;
      }),
      redact,
    );
    const error = await wrapped
      .execute(context({ recordModelCall: () => undefined, recordAgentStep: () => undefined }))
      .catch((e: unknown) => e);
    expect(error).toBe(thrown);
    expect((error as Error).message).toBe(`echoed ${REDACTED}`);
    expect((error as TransientNodeError).retryAfterMs).toBe(1_000);
  });

  it('redacts recorded agent steps and passes every other ledger method through', async () => {
    const steps: AgentStepRecord[] = [];
    const calls: string[] = [];
    class Ledger implements ExecutionLedger {
      readonly prefix = 'bound';
      recordModelCall() {
        calls.push(`${this.prefix}:record`);
      }
      recordAgentStep(step: AgentStepRecord) {
        steps.push(step);
      }
      async reserveModelCall() {
        calls.push(`${this.prefix}:reserve`);
        return null;
      }
    }
    const wrapped = withRedaction(
      executor(async (ctx) => {
        await ctx.ledger.reserveModelCall?.({
          provider: 'p',
          operation: 'chat',
          requestModel: 'm',
          inputTokens: 1,
          outputTokens: 1,
          costUsd: null,
        });
        ctx.ledger.recordAgentStep({
          step: 1,
          thought: `thinking about ${SECRET}`,
          toolName: 'crm',
          toolCallId: 'c1',
          toolInput: { q: SECRET },
          observation: { headers: { 'x-crm-key': 'v' } },
          isError: false,
          inputTokens: 1,
          outputTokens: 1,
        });
        return null;
      }),
      redact,
    );
    await wrapped.execute(context(new Ledger()));
    expect(calls).toEqual(['bound:reserve']);
    expect(steps[0]).toMatchObject({
      thought: `thinking about ${REDACTED}`,
      toolInput: { q: REDACTED },
      observation: { headers: { 'x-crm-key': REDACTED } },
    });
  });
});
