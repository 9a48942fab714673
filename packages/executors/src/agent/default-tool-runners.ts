import { FlowtraceError, type RagTool } from '@flowtrace/workflow';
import type { CredentialStore } from '../connector/credentials.ts';
import type { GuardedHttpClient } from '../connector/guarded-http-client.ts';
import { createRedactor } from '../redaction/redactor.ts';
import { createHttpToolRunner } from './http-tool-runner.ts';
import { createLlmToolRunner, type LlmToolRunnerDeps } from './llm-tool-runner.ts';
import { createRagToolRunner, type RagToolRunnerDeps } from './rag-tool-runner.ts';
import type { AgentToolRunner, AgentToolRunners } from './tool-runner.ts';

export interface DefaultToolRunnersDeps {
  /** The worker's SSRF-guarded client and connector credentials (shared with the connector executor). */
  http: { client: GuardedHttpClient; credentials: CredentialStore };
  /**
   * The vector store and embedders (shared with the rag executor). Omit it on workers without a vector
   * database: rag tools then answer the model with an error saying so.
   */
  rag?: RagToolRunnerDeps | undefined;
  /** Providers, tracer, pricing and content capture for `llm` tools' sub-calls. */
  llm: LlmToolRunnerDeps;
}

/** The standard runners: connector-backed `http`, vector-store-backed `rag`, provider-backed `llm`. */
export function createDefaultToolRunners(deps: DefaultToolRunnersDeps): AgentToolRunners {
  const { client, credentials } = deps.http;
  const secrets = () => [...credentials.secretValues(), ...deps.llm.providers.secrets()];
  // What the model reads back from an HTTP tool is redacted like every stored output.
  const redact = createRedactor({
    secrets: secrets(),
    patterns: deps.llm.capture.redact,
    headerNames: credentials.headerNames(),
  });
  return {
    http: createHttpToolRunner({ http: client, credentials, redact }),
    rag: deps.rag === undefined ? unavailableRagRunner : createRagToolRunner(deps.rag),
    llm: createLlmToolRunner(deps.llm),
    secrets,
  };
}

const unavailableRagRunner: AgentToolRunner<RagTool> = {
  run(tool) {
    return Promise.reject(
      new FlowtraceError(
        'tool_error',
        `rag tool "${tool.name}" is not available: this worker has no vector store configured`,
      ),
    );
  },
};
