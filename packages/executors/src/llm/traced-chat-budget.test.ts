import {
  type ModelCallEstimate,
  type ModelCallRecord,
  type ModelCallReservation,
  PermanentNodeError,
} from '@flowtrace/workflow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAiServer } from '../testing/fake-openai-server.ts';
import { createInMemoryTelemetry, type InMemoryTelemetry } from '../testing/in-memory-telemetry.ts';
import { CONTENT_CAPTURE_DISABLED } from './content-capture.ts';
import { OpenAiCompatibleProvider } from './openai-provider.ts';
import { createPricingTable } from './pricing.ts';
import type { ChatRequest } from './provider.ts';
import { DEFAULT_OUTPUT_TOKENS_ESTIMATE, estimateChat, tracedChat } from './traced-chat.ts';

/** A ledger that reserves (or refuses) and logs every step, in order. */
function budgetLedger(refuse: boolean) {
  const steps: string[] = [];
  const estimates: ModelCallEstimate[] = [];
  const recorded: { record: ModelCallRecord; reservation: ModelCallReservation | null | undefined }[] = [];
  return {
    steps,
    estimates,
    recorded,
    async reserveModelCall(estimate: ModelCallEstimate): Promise<ModelCallReservation | null> {
      steps.push('reserve');
      estimates.push(estimate);
      if (refuse) throw new PermanentNodeError('budget_exceeded', 'over the daily budget');
      return { estimate };
    },
    async releaseModelCall(_reservation: ModelCallReservation, outcome: 'failed' | 'abandoned') {
      steps.push(`release:${outcome}`);
    },
    async recordModelCall(record: ModelCallRecord, reservation?: ModelCallReservation | null) {
      steps.push('record');
      recorded.push({ record, reservation });
    },
  };
}

describe('tracedChat with a budgeted ledger', () => {
  const server = new FakeOpenAiServer();
  const pricing = createPricingTable();
  let telemetry: InMemoryTelemetry;
  let provider: OpenAiCompatibleProvider;
  const request: ChatRequest = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'x'.repeat(400) }],
    maxTokens: 100,
  };

  beforeAll(async () => {
    await server.start();
    provider = new OpenAiCompatibleProvider({ name: 'openai', baseUrl: server.baseUrl, apiKey: 'sk-test' });
  });
  beforeEach(() => {
    telemetry = createInMemoryTelemetry();
  });
  afterEach(async () => {
    server.reset();
    await telemetry.shutdown();
  });
  afterAll(() => server.close());

  const call = (ledger: ReturnType<typeof budgetLedger>, signal?: AbortSignal) =>
    tracedChat({
      tracer: telemetry.tracer,
      provider,
      providerName: 'openai',
      request,
      capture: CONTENT_CAPTURE_DISABLED,
      ledger,
      pricing,
      ...(signal ? { signal } : {}),
    });

  it('reserves the estimate before calling and settles that reservation with the answer', async () => {
    const ledger = budgetLedger(false);
    await call(ledger);
    expect(ledger.steps).toEqual(['reserve', 'record']);
    expect(ledger.estimates[0]).toMatchObject({
      provider: 'openai',
      operation: 'chat',
      requestModel: 'gpt-4o-mini',
      outputTokens: 100,
    });
    expect(ledger.estimates[0]?.inputTokens).toBeGreaterThanOrEqual(100);
    expect(ledger.recorded[0]?.reservation?.estimate).toBe(ledger.estimates[0]);
    expect(server.chatRequests).toHaveLength(1);
  });

  it('makes no call and opens no chat span when the budget refuses', async () => {
    const ledger = budgetLedger(true);
    await expect(call(ledger)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(server.chatRequests).toHaveLength(0);
    expect(ledger.steps).toEqual(['reserve']);
    expect(telemetry.spans().filter((s) => s.name.startsWith('chat'))).toHaveLength(0);
  });

  it('gives the reservation back when the provider answers with an error', async () => {
    server.failNext(400);
    const ledger = budgetLedger(false);
    await expect(call(ledger)).rejects.toMatchObject({ code: 'provider_rejected' });
    expect(ledger.steps).toEqual(['reserve', 'release:failed']);
  });

  it('keeps a reservation cut off by its signal counted, as abandoned', async () => {
    server.setHandler(() => ({ status: 200, delayMs: 30_000, body: {} }));
    const ledger = budgetLedger(false);
    const controller = new AbortController();
    const pending = call(ledger, controller.signal);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (server.chatRequests.length > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    controller.abort(new Error('node timed out'));
    await expect(pending).rejects.toThrow();
    expect(ledger.steps).toEqual(['reserve', 'release:abandoned']);
  });

  it('estimates without maxTokens with the default output allowance, and prices the estimate', () => {
    const estimate = estimateChat({
      provider,
      providerName: 'openai',
      pricing,
      request: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'abcd'.repeat(250) }] },
    });
    expect(estimate.outputTokens).toBe(DEFAULT_OUTPUT_TOKENS_ESTIMATE);
    expect(estimate.inputTokens).toBe(252);
    // gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens.
    expect(estimate.costUsd).toBeCloseTo((252 * 0.15 + 1024 * 0.6) / 1e6, 12);
  });
});
