import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.ts';
import { errorBodySchema } from '../http/schemas.ts';

const metadataValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ingestBodySchema = z
  .object({
    documents: z
      .array(
        z
          .object({
            content: z.string().min(1).max(1_000_000),
            source: z.string().max(2_000).optional(),
            title: z.string().max(1_000).optional(),
            metadata: z.record(z.string(), metadataValue).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(1_000),
    /** Used when the collection is created by this request. */
    chunkSize: z.number().int().min(50).max(20_000).optional(),
    chunkOverlap: z.number().int().min(0).max(5_000).optional(),
  })
  .strict();

export type IngestBody = z.infer<typeof ingestBodySchema>;

export const ingestResultSchema = z
  .object({
    collection: z.object({
      id: z.uuid(),
      name: z.string(),
      created: z.boolean(),
      embeddingProvider: z.string(),
      embeddingModel: z.string(),
      dimensions: z.number().int(),
    }),
    documentsAdded: z.number().int(),
    documentsUnchanged: z.number().int(),
    chunksAdded: z.number().int(),
    documents: z.array(
      z.object({
        documentId: z.uuid(),
        source: z.string().nullable(),
        status: z.enum(['added', 'unchanged']),
        chunkCount: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'IngestResult' });

export type IngestResult = z.infer<typeof ingestResultSchema>;

/** Ingestion is injected: the API app wires it to the vector store when one is configured. */
export type IngestDocuments = (
  tenantId: string,
  collection: string,
  body: IngestBody,
) => Promise<IngestResult>;

export function collectionRoutes(app: FastifyInstance, deps: { ingest: IngestDocuments | undefined }): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/collections/:name/documents',
    {
      schema: {
        summary: 'Add documents to a RAG collection',
        description:
          'Chunks, embeds and stores documents; creates the collection on first use. Documents whose content the collection already holds are skipped.',
        tags: ['collections'],
        params: z.object({
          name: z
            .string()
            .regex(
              /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
              'collection names start with a letter and use letters, digits, _ . - (max 64)',
            ),
        }),
        body: ingestBodySchema,
        response: {
          200: ingestResultSchema,
          201: ingestResultSchema,
          400: errorBodySchema,
          401: errorBodySchema,
          503: errorBodySchema,
        },
      },
    },
    async function ingestCollectionDocuments(request, reply) {
      if (!deps.ingest) {
        throw new FlowtraceError(
          'dependency_unavailable',
          'RAG collections need a vector store: set VECTOR_DATABASE_URL to a Postgres with pgvector and run `npm run db:migrate`',
        );
      }
      const result = await deps.ingest(principalOf(request).tenantId, request.params.name, request.body);
      return reply.code(result.collection.created ? 201 : 200).send(result);
    },
  );
}
