import { assertUrlTemplate } from '../template/url-template.ts';
import type { WorkflowNode } from './workflow-schema.ts';

/**
 * Refuses, at registration, every URL template that could change its request's scheme, host or port:
 * a connector's `config.url` and each agent `http` tool's `url`. See `url-template.ts` for the rule.
 */
export function assertUrlTemplates(nodes: readonly WorkflowNode[]): void {
  for (const node of nodes) {
    if (node.type === 'connector') {
      assertUrlTemplate(node.config.url, { nodeId: node.id, field: 'config.url' });
    } else if (node.type === 'agent') {
      node.config.tools.forEach((tool, index) => {
        if (tool.type === 'http') {
          assertUrlTemplate(tool.url, { nodeId: node.id, field: `config.tools[${index}].url` });
        }
      });
    }
  }
}
