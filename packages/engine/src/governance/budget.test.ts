import { describe, expect, it } from 'vitest';
import { budgetViolation, describeViolation, hasUsageBudget, periodsOf, type UsageTotals } from './budget.ts';
import { aboveCeiling, effectiveLimits, NO_LIMITS, tenantLimitsSchema } from './tenant-limits.ts';

const now = new Date('2026-12-31T23:30:00Z');
const usage = (u: Partial<UsageTotals> = {}): UsageTotals => ({
  daySpendUsd: 0,
  dayTokens: 0,
  monthSpendUsd: 0,
  monthTokens: 0,
  ...u,
});

describe('budgetViolation', () => {
  it('at admission, refuses only once a budget is used up', () => {
    const limits = { ...NO_LIMITS, dailySpendUsd: 1 };
    expect(budgetViolation(limits, usage({ daySpendUsd: 0.99 }), now)).toBeNull();
    expect(budgetViolation(limits, usage({ daySpendUsd: 1 }), now)).toEqual({
      limit: 'dailySpendUsd',
      limitValue: 1,
      used: 1,
      requested: 0,
      resetsAt: '2027-01-01T00:00:00.000Z',
    });
  });

  it('before a call, refuses a call whose estimate would take usage past a budget', () => {
    const limits = { ...NO_LIMITS, monthlyTokens: 1000 };
    expect(
      budgetViolation(limits, usage({ monthTokens: 900 }), now, { spendUsd: 0, tokens: 100 }),
    ).toBeNull();
    expect(
      budgetViolation(limits, usage({ monthTokens: 900 }), now, { spendUsd: 0, tokens: 101 }),
    ).toMatchObject({
      limit: 'monthlyTokens',
      used: 900,
      requested: 101,
      resetsAt: '2027-01-01T00:00:00.000Z',
    });
  });

  it('refuses an unpriced call under a spend budget, and ignores spend for token budgets', () => {
    expect(
      budgetViolation({ ...NO_LIMITS, dailySpendUsd: 5 }, usage(), now, { spendUsd: null, tokens: 1 }),
    ).toMatchObject({ limit: 'dailySpendUsd', unpriced: true });
    expect(
      budgetViolation({ ...NO_LIMITS, dailyTokens: 5 }, usage(), now, { spendUsd: null, tokens: 5 }),
    ).toBeNull();
  });

  it('names the budget, the numbers and the reset in its message', () => {
    const v = budgetViolation({ ...NO_LIMITS, dailySpendUsd: 2 }, usage({ daySpendUsd: 1.5 }), now, {
      spendUsd: 0.75,
      tokens: 10,
    });
    expect(v && describeViolation(v, 'call')).toBe(
      "the tenant's dailySpendUsd budget of $2 would be exceeded by this model call ($1.5 used, the call may take $0.75); it resets at 2027-01-01T00:00:00.000Z",
    );
  });

  it('uses UTC days and calendar months', () => {
    expect(periodsOf(new Date('2027-02-28T23:59:59.999Z'))).toMatchObject({
      day: '2027-02-28',
      monthStart: '2027-02-01',
      nextDay: new Date('2027-03-01T00:00:00Z'),
      nextMonth: new Date('2027-03-01T00:00:00Z'),
    });
    expect(hasUsageBudget({ ...NO_LIMITS, runsPerMinute: 3 })).toBe(false);
  });
});

describe('tenant limits', () => {
  it('takes the stricter of the operator’s and the tenant’s for each limit', () => {
    expect(
      effectiveLimits(
        { ...NO_LIMITS, dailySpendUsd: 10, runsPerMinute: 60 },
        { ...NO_LIMITS, dailySpendUsd: 2, maxInflightNodes: 4 },
      ),
    ).toEqual({ ...NO_LIMITS, dailySpendUsd: 2, runsPerMinute: 60, maxInflightNodes: 4 });
  });

  it("finds the tenant's limits above the operator's ceiling (none of its own is fine)", () => {
    const operator = { ...NO_LIMITS, dailySpendUsd: 10, runsPerMinute: 60 };
    expect(aboveCeiling(operator, { ...NO_LIMITS, dailySpendUsd: 11 })).toEqual([
      { limit: 'dailySpendUsd', requested: 11, ceiling: 10 },
    ]);
    expect(aboveCeiling(operator, { ...NO_LIMITS, runsPerMinute: 60 })).toEqual([]);
  });

  it('accepts positive limits, null for none, and nothing else', () => {
    expect(tenantLimitsSchema.parse({ dailySpendUsd: 1.5, maxConcurrentRuns: null })).toEqual({
      ...NO_LIMITS,
      dailySpendUsd: 1.5,
    });
    for (const bad of [{ dailySpendUsd: 0 }, { runsPerMinute: 2.5 }, { dailyTokens: -1 }, { other: 1 }]) {
      expect(tenantLimitsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
