import { describe, expectTypeOf, it } from 'vitest';
import type { ApiErrorCode, ReplayAccepted, Run, RunEvent, RunListItem, SubmitRunRequest } from './types.ts';

// Checked by `npm run typecheck`: the client's types are the server's schemas, not `any`.
describe('client types', () => {
  it('are inferred from the API schemas', () => {
    expectTypeOf<Run['status']>().toEqualTypeOf<
      'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
    >();
    expectTypeOf<Run['replayOf']>().toEqualTypeOf<string | null>();
    expectTypeOf<Run['nodes'][number]['reused']>().toEqualTypeOf<boolean>();
    expectTypeOf<RunEvent['seq']>().toEqualTypeOf<number>();
    expectTypeOf<RunListItem['usage']['costUsd']>().toEqualTypeOf<number | null>();
    expectTypeOf<ReplayAccepted['replayOf']>().toEqualTypeOf<string>();
    expectTypeOf<SubmitRunRequest['idempotencyKey']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<'replay_node_not_found'>().toExtend<ApiErrorCode>();
    expectTypeOf<'no_such_code'>().not.toExtend<ApiErrorCode>();
  });
});
