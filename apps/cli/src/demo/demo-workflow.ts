/** Support-handbook passages the demo ingests into the `handbook` RAG collection. */
export const HANDBOOK_DOCUMENTS = [
  {
    source: 'handbook/shipping.md',
    title: 'Late deliveries',
    content:
      'When an order is delayed past its promised date, apologise, share the carrier status, and offer a ' +
      '10% credit on business plans. Delays over 7 days qualify for a free replacement shipment.',
    metadata: { topic: 'shipping' },
  },
  {
    source: 'handbook/refunds.md',
    title: 'Refunds',
    content:
      'Refunds are issued to the original payment method within 5 business days. Business plans may ' +
      'request a refund as account credit instead.',
    metadata: { topic: 'billing' },
  },
  {
    source: 'handbook/tone.md',
    title: 'Tone of voice',
    content:
      'Reply in plain language, name the next step and when it will happen, and sign with the team name.',
    metadata: { topic: 'style' },
  },
];

/**
 * The demo workflow: every node type, a fan-out after `classify` and a fan-in at `resolve`. It runs
 * offline: the LLM and agent nodes use the simulated provider, the connector and the agent's HTTP tool
 * call the local demo CRM.
 */
export function demoWorkflow(crmUrl: string) {
  return {
    name: 'support-triage',
    description:
      'Classify a ticket, gather customer data and policy in parallel, resolve with an agent, reply.',
    nodes: [
      {
        id: 'classify',
        type: 'llm',
        config: {
          provider: 'simulated',
          model: 'sim-small',
          system: 'You label support tickets with one word.',
          prompt: 'Ticket: {{input.ticket}}',
        },
      },
      {
        id: 'customer',
        type: 'connector',
        dependsOn: ['classify'],
        config: { method: 'GET', url: `${crmUrl}/customers/{{input.customerId}}`, responseType: 'json' },
      },
      {
        id: 'policy',
        type: 'rag',
        dependsOn: ['classify'],
        config: { collection: 'handbook', query: '{{input.ticket}}', topK: 2 },
      },
      {
        id: 'resolve',
        type: 'agent',
        dependsOn: ['customer', 'policy'],
        config: {
          name: 'resolver',
          provider: 'simulated',
          model: 'sim-large',
          system: 'You resolve support tickets using the tools.',
          prompt:
            'Ticket: {{input.ticket}}\nCustomer: {{nodes.customer.output.body}}\n' +
            'Policy: {{nodes.policy.output.chunks}}',
          tools: [
            {
              type: 'http',
              name: 'order_status',
              description: 'Current status of an order',
              url: `${crmUrl}/orders/{{args.orderId}}`,
              parameters: {
                type: 'object',
                properties: {
                  orderId: { type: 'string', pattern: '^o-[0-9]+$', description: 'Order id, e.g. o-77' },
                },
                required: ['orderId'],
              },
            },
            {
              type: 'rag',
              name: 'search_handbook',
              description: 'Search the support handbook',
              collection: 'handbook',
              topK: 2,
            },
          ],
          maxSteps: 5,
        },
      },
      {
        id: 'reply',
        type: 'llm',
        dependsOn: ['resolve'],
        config: {
          provider: 'simulated',
          model: 'sim-small',
          prompt: 'Write the customer reply from this resolution: {{nodes.resolve.output.answer}}',
        },
      },
    ],
  };
}

export const DEMO_INPUT = {
  ticket: 'My order o-77 is late again, it was promised for last week. What can you do?',
  customerId: 'c-1042',
};
