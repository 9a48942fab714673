import { type NodeExecutor, type NodeType, PermanentNodeError } from '@flowtrace/workflow';

/** The executors a worker process runs, by node type. */
export class ExecutorRegistry {
  readonly #executors = new Map<NodeType, NodeExecutor>();

  constructor(executors: readonly NodeExecutor[] = []) {
    for (const executor of executors) this.register(executor);
  }

  register<T extends NodeType>(executor: NodeExecutor<T>): this {
    this.#executors.set(executor.type, executor as unknown as NodeExecutor);
    return this;
  }

  get(type: NodeType): NodeExecutor {
    const executor = this.#executors.get(type);
    if (!executor) {
      // Permanent: retrying on the same fleet cannot help; the deployment needs a worker for this type.
      throw new PermanentNodeError(
        'executor_not_found',
        `this worker has no executor for node type "${type}"`,
      );
    }
    return executor;
  }

  types(): NodeType[] {
    return [...this.#executors.keys()];
  }
}
