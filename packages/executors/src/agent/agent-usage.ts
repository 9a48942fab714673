import { type AgentNodeConfig, type ModelCallRecord, PermanentNodeError } from '@flowtrace/workflow';

/**
 * What an agent has spent: every model call recorded while it runs (its own chat calls and its tools'
 * sub-calls and query embeddings), i.e. the node attempt's `model_cost_logs` rows. Budgets, the output's
 * `usage`/`costUsd` and the `invoke_agent` span's totals all read it.
 */
export class AgentUsage {
  inputTokens = 0;
  outputTokens = 0;
  #costUsd = 0;
  readonly #unpriced = new Set<string>();

  add(call: ModelCallRecord): void {
    this.inputTokens += call.inputTokens;
    this.outputTokens += call.outputTokens;
    if (call.costUsd === null) this.#unpriced.add(`${call.provider}/${call.requestModel}`);
    else this.#costUsd += call.costUsd;
  }

  get totalTokens(): number {
    return this.inputTokens + this.outputTokens;
  }

  /** Total USD, or null when some call had no price (a partial sum would understate it). */
  get costUsd(): number | null {
    if (this.#unpriced.size > 0) return null;
    // Round away float noise, as the pricing table does per call.
    return Math.round(this.#costUsd * 1e12) / 1e12;
  }

  /** `provider/model` of calls without a price. */
  get unpriced(): string[] {
    return [...this.#unpriced];
  }
}

/**
 * The budget error after a model call, or null while within budget. A cost budget over a model without a
 * price cannot be enforced: that fails too (closed), naming the model, rather than running unbounded.
 */
export function budgetError(
  config: AgentNodeConfig,
  usage: AgentUsage,
  modelCalls: number,
  where: { nodeId: string },
): PermanentNodeError | null {
  const budget = config.budget;
  if (budget === undefined) return null;
  const after = `after ${modelCalls} model call${modelCalls === 1 ? '' : 's'}`;
  if (budget.maxTotalTokens !== undefined && usage.totalTokens > budget.maxTotalTokens) {
    return new PermanentNodeError(
      'budget_exceeded',
      `agent "${config.name}" used ${usage.totalTokens} tokens (${usage.inputTokens} input, ${usage.outputTokens} output) ${after}, over its budget.maxTotalTokens of ${budget.maxTotalTokens}`,
      {
        ...where,
        details: {
          budget: 'maxTotalTokens',
          limit: budget.maxTotalTokens,
          used: usage.totalTokens,
          modelCalls,
        },
      },
    );
  }
  if (budget.maxCostUsd !== undefined) {
    const cost = usage.costUsd;
    if (cost === null) {
      return new PermanentNodeError(
        'budget_exceeded',
        `agent "${config.name}" has budget.maxCostUsd ${budget.maxCostUsd} but ${usage.unpriced.join(', ')} has no price, so the cost budget cannot be enforced; add a price with FLOWTRACE_PRICING or remove maxCostUsd`,
        {
          ...where,
          details: { budget: 'maxCostUsd', limit: budget.maxCostUsd, unpriced: usage.unpriced, modelCalls },
        },
      );
    }
    if (cost > budget.maxCostUsd) {
      return new PermanentNodeError(
        'budget_exceeded',
        `agent "${config.name}" spent $${cost} ${after}, over its budget.maxCostUsd of $${budget.maxCostUsd}`,
        { ...where, details: { budget: 'maxCostUsd', limit: budget.maxCostUsd, used: cost, modelCalls } },
      );
    }
  }
  return null;
}

/** The step budget: `maxSteps` model calls made and the last one still asked for tools. */
export function stepBudgetError(config: AgentNodeConfig, where: { nodeId: string }): PermanentNodeError {
  return new PermanentNodeError(
    'budget_exceeded',
    `agent "${config.name}" made its maxSteps of ${config.maxSteps} model calls without a final answer (the last one still called tools); raise maxSteps or simplify the task`,
    { ...where, details: { budget: 'maxSteps', limit: config.maxSteps, modelCalls: config.maxSteps } },
  );
}
