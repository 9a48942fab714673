export {
  type LocalStack,
  type LocalStackOptions,
  StackError,
  startLocalStack,
  type WorkerSpec,
} from './local-stack.ts';
export { ManagedProcess, type ManagedProcessOptions } from './managed-process.ts';
export { renderSpanTree, type SpanTreeOptions } from './span-tree.ts';
