import type { RunRepository, RunSubmitter, StoredWorkflow } from '@flowtrace/engine';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/authenticate.ts';
import {
  errorBodySchema,
  workflowDefinitionBody,
  workflowIdParams,
  workflowResponseSchema,
} from '../http/schemas.ts';

function toResponse(workflow: StoredWorkflow) {
  return {
    id: workflow.id,
    name: workflow.name,
    version: workflow.version,
    definition: workflow.definition as unknown as Record<string, unknown>,
    createdAt: workflow.createdAt.toISOString(),
  };
}

export function workflowRoutes(
  app: FastifyInstance,
  deps: { repository: RunRepository; submitter: RunSubmitter },
): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.post(
    '/v1/workflows',
    {
      schema: {
        summary: 'Register a workflow definition',
        description:
          'A new version when the name exists; the same version again when the definition is unchanged.',
        tags: ['workflows'],
        body: workflowDefinitionBody,
        response: {
          200: workflowResponseSchema,
          201: workflowResponseSchema,
          400: errorBodySchema,
          401: errorBodySchema,
        },
      },
    },
    async function registerWorkflow(request, reply) {
      const { workflow, created } = await deps.submitter.registerWorkflow(
        principalOf(request).tenantId,
        request.body,
      );
      return reply.code(created ? 201 : 200).send(toResponse(workflow));
    },
  );

  typed.get(
    '/v1/workflows/:id',
    {
      schema: {
        summary: 'Read a workflow version',
        tags: ['workflows'],
        params: workflowIdParams,
        response: { 200: workflowResponseSchema, 404: errorBodySchema },
      },
    },
    async function readWorkflow(request) {
      const workflow = await deps.repository.findWorkflow(principalOf(request).tenantId, request.params.id);
      if (!workflow) throw new FlowtraceError('not_found', `workflow ${request.params.id} does not exist`);
      return toResponse(workflow);
    },
  );
}
