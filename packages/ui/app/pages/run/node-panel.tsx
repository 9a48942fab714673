import type { AgentStep, RunDetail, RunNode } from '../../api/types.ts';
import { ExternalLink, JsonBlock, StatusBadge } from '../../components/common.tsx';
import { elapsedMs, formatCost, formatDuration, formatTime, formatTokens } from '../../lib/format.ts';

export interface NodePanelProps {
  run: RunDetail;
  node: RunNode;
  steps: AgentStep[] | null;
  now: number;
  replaying: boolean;
  onReplayFrom: (nodeId: string) => void;
}

/** One node: status, attempts, timings, tokens and cost, its error, input, output and agent steps. */
export function NodePanel({ run, node, steps, now, replaying, onReplayFrom }: NodePanelProps) {
  const nodeSteps = (steps ?? []).filter((s) => s.nodeId === node.nodeId);
  const terminal = ['completed', 'failed', 'cancelled'].includes(run.status);
  const spanHref =
    node.spanId && run.traceUrl
      ? `${run.traceUrl}${run.traceUrl.includes('?') ? '&' : '?'}spanId=${node.spanId}`
      : null;
  const running = node.status === 'running';
  // Nodes that call no model (connectors, most rag nodes) show dashes rather than zeros.
  const usage = node.usage;
  const modelUsage =
    usage && (usage.inputTokens > 0 || usage.outputTokens > 0 || usage.costUsd) ? usage : null;
  return (
    <div class="node-panel" data-node-id={node.nodeId}>
      <div class="node-panel-head">
        <div>
          <h3 class="mono">{node.nodeId}</h3>
          <span class="muted">{node.type} node</span>
          {node.reused ? (
            <span class="tag" title="Output carried over from the replayed run; the node did not execute">
              reused
            </span>
          ) : null}
        </div>
        <StatusBadge status={node.status} />
      </div>
      <dl class="stats">
        <div>
          <dt>Attempts</dt>
          <dd>
            {node.attempts} / {node.maxAttempts}
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            {formatDuration(node.durationMs ?? (running ? elapsedMs(node.startedAt, null, now) : null))}
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTime(node.startedAt)}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{formatTime(node.finishedAt)}</dd>
        </div>
        <div>
          <dt>Tokens in / out</dt>
          <dd>
            {modelUsage
              ? `${formatTokens(modelUsage.inputTokens)} / ${formatTokens(modelUsage.outputTokens)}`
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{formatCost(modelUsage?.costUsd)}</dd>
        </div>
      </dl>
      <div class="node-actions">
        <ExternalLink href={spanHref} class="btn btn-sm">
          Span in SigNoz
        </ExternalLink>
        {terminal ? (
          <button
            type="button"
            class="btn btn-sm"
            disabled={replaying}
            onClick={() => onReplayFrom(node.nodeId)}
            title="A new run that reuses the completed upstream outputs and re-executes from this node"
          >
            Replay from this node
          </button>
        ) : null}
      </div>
      {node.error ? (
        <div class="error-box" data-testid="node-error">
          <div class="error-code">{node.error.code}</div>
          <div class="error-message">{node.error.message}</div>
          {node.error.details ? <JsonBlock value={node.error.details} /> : null}
        </div>
      ) : null}
      <h4>Input</h4>
      {node.input === undefined ? (
        <p class="muted">Not reported by this API version.</p>
      ) : (
        <>
          <p class="muted">As the workflow configures it; templates are shown unrendered.</p>
          <JsonBlock value={node.input} empty="Not recorded" />
        </>
      )}
      <h4>Output</h4>
      <JsonBlock value={node.output} empty={node.status === 'completed' ? 'No output' : 'No output yet'} />
      {nodeSteps.length > 0 ? (
        <>
          <h4>Agent steps</h4>
          <StepList steps={nodeSteps} />
        </>
      ) : null}
    </div>
  );
}

const STEP_KINDS: Record<string, string> = { tool_call: 'Tool call', message: 'Answer' };

/** The agent's steps in order: each tool call with its input and what came back, and its messages. */
export function StepList({ steps }: { steps: AgentStep[] }) {
  return (
    <ol class="steps">
      {steps.map((step) => (
        <li
          key={`${step.nodeId}:${step.attempt}:${step.step}:${step.toolCallId ?? step.kind}`}
          class={`step step-${step.kind}${step.isError ? ' step-error' : ''}`}
        >
          <div class="step-head">
            <span class="step-kind">{STEP_KINDS[step.kind] ?? step.kind}</span>
            {step.toolName ? <span class="mono step-tool">{step.toolName}</span> : null}
            {step.isError ? <span class="tag tag-error">error</span> : null}
            <span class="muted step-meta">
              step {step.step}
              {step.attempt > 1 ? ` · attempt ${step.attempt}` : ''}
              {step.inputTokens || step.outputTokens
                ? ` · ${formatTokens(step.inputTokens)} / ${formatTokens(step.outputTokens)} tokens`
                : ''}
            </span>
          </div>
          {step.content ? <p class="step-text">{step.content}</p> : null}
          {step.toolInput !== undefined && step.toolInput !== null ? (
            <>
              <div class="step-label">Input</div>
              <JsonBlock value={step.toolInput} />
            </>
          ) : null}
          {step.observation !== undefined && step.observation !== null ? (
            <>
              <div class="step-label">{step.isError ? 'Error' : 'Observation'}</div>
              <JsonBlock value={step.observation} />
            </>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
