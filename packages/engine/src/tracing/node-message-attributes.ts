import { FlowtraceAttributes, semconv } from '@flowtrace/telemetry';
import type { Attributes } from '@opentelemetry/api';

/** The node a job carries, as its spans name it. */
export interface NodeMessageTarget {
  workflowId: string;
  runId: string;
  nodeId: string;
  tenantId: string;
}

/**
 * Attributes of a node job's PRODUCER (`send`) or CONSUMER (`process`) span: the messaging semantic
 * conventions for BullMQ (the consumer group is the queue: every worker of a type shares it) and the node
 * the job is for. Both sides of one hop come from here, so that a query on either finds the same keys.
 */
export function nodeMessageAttributes(
  operation: 'send' | 'process',
  queue: string,
  jobId: string,
  target: NodeMessageTarget,
): Attributes {
  return {
    [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MESSAGING_SYSTEM_VALUE_BULLMQ,
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: operation,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]:
      operation === 'send'
        ? semconv.MESSAGING_OPERATION_TYPE_VALUE_SEND
        : semconv.MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
    [semconv.ATTR_MESSAGING_DESTINATION_NAME]: queue,
    ...(operation === 'process' ? { [semconv.ATTR_MESSAGING_CONSUMER_GROUP_NAME]: queue } : {}),
    [semconv.ATTR_MESSAGING_MESSAGE_ID]: jobId,
    [FlowtraceAttributes.WORKFLOW_ID]: target.workflowId,
    [FlowtraceAttributes.RUN_ID]: target.runId,
    [FlowtraceAttributes.NODE_ID]: target.nodeId,
    [FlowtraceAttributes.TENANT_ID]: target.tenantId,
  };
}
