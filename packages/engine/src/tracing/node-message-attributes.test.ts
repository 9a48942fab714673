import { FlowtraceAttributes } from '@flowtrace/telemetry';
import { describe, expect, it } from 'vitest';
import { nodeMessageAttributes } from './node-message-attributes.ts';

const target = {
  workflowId: '1c2b3a4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d',
  runId: '0b0c6a8e-7d0e-4bb5-9d6a-2d3f1c0e9a11',
  nodeId: 'summarize',
  tenantId: '2d3c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a',
};
const jobId = `${target.runId}.summarize`;

describe('nodeMessageAttributes', () => {
  it('describes the send side with the messaging conventions for BullMQ and the node the job is for', () => {
    expect(nodeMessageAttributes('send', 'nodes.llm', jobId, target)).toEqual({
      'messaging.system': 'bullmq',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'nodes.llm',
      'messaging.message.id': jobId,
      [FlowtraceAttributes.WORKFLOW_ID]: target.workflowId,
      [FlowtraceAttributes.RUN_ID]: target.runId,
      [FlowtraceAttributes.NODE_ID]: 'summarize',
      [FlowtraceAttributes.TENANT_ID]: target.tenantId,
    });
  });

  it('gives the process side the same keys and values, plus the consumer group (the queue itself)', () => {
    const send = nodeMessageAttributes('send', 'nodes.llm', jobId, target);
    const process = nodeMessageAttributes('process', 'nodes.llm', jobId, target);
    expect(process).toEqual({
      ...send,
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'nodes.llm',
    });
  });
});
