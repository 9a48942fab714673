import { FlowtraceAttributes, withSpan } from '@flowtrace/telemetry';
import { ATTR_GEN_AI_DATA_SOURCE_ID } from '@flowtrace/telemetry/semconv';
import { type ExecutionLedger, PermanentNodeError } from '@flowtrace/workflow';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import type { AddDocumentsResult, IngestDocument } from './add-documents.ts';
import { DEFAULT_CHUNK_OPTIONS } from './chunker.ts';
import type { EmbedderRegistry, EmbeddingCall } from './embedder.ts';
import { type EmbeddingPricing, ledgerEmbedHooks } from './embedding-cost.ts';
import type { VectorStore } from './vector-store.ts';

export interface IngestDocumentsDeps {
  store: VectorStore;
  embedders: EmbedderRegistry;
  tracer: Tracer;
  /** Prices the embedding calls written to `ledger`. */
  pricing?: EmbeddingPricing | undefined;
}

export interface IngestDocumentsRequest {
  tenantId: string;
  /** Collection name; created on first use with the registry's default embedder. */
  collection: string;
  documents: readonly IngestDocument[];
  /** Used only when the collection is created; an existing collection keeps its own settings. */
  chunkSize?: number | undefined;
  chunkOverlap?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called once per embedding request (e.g. to record its cost). */
  onEmbeddingCall?: ((call: EmbeddingCall) => void) | undefined;
  /**
   * Where the embedding calls are reserved against the tenant's budgets (a refused call is not made and
   * the ingestion stops with `budget_exceeded`) and recorded as they are answered.
   */
  ledger?: Pick<ExecutionLedger, 'recordModelCall' | 'reserveModelCall' | 'releaseModelCall'> | undefined;
}

export interface IngestDocumentsResult extends AddDocumentsResult {
  collection: {
    id: string;
    name: string;
    created: boolean;
    embeddingProvider: string;
    embeddingModel: string;
    dimensions: number;
  };
}

/** The same rule as collection names in workflow definitions. */
const COLLECTION_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * What `POST /v1/collections/:name/documents` does: finds or creates the tenant's collection (with the
 * default embedder and the given chunking), then chunks, embeds and stores the documents, skipping any
 * whose content the collection already holds. Runs as an INTERNAL span `ingest <collection>`.
 */
export async function ingestDocuments(
  deps: IngestDocumentsDeps,
  request: IngestDocumentsRequest,
): Promise<IngestDocumentsResult> {
  if (!COLLECTION_NAME.test(request.collection)) {
    throw new PermanentNodeError(
      'invalid_input',
      `collection name "${request.collection.slice(0, 80)}" must start with a letter and use only letters, digits, _ . - (at most 64)`,
    );
  }
  if (request.documents.length === 0) {
    throw new PermanentNodeError('invalid_input', 'documents must contain at least one document');
  }
  return withSpan(
    deps.tracer,
    `ingest ${request.collection}`,
    { kind: SpanKind.INTERNAL, attributes: { [ATTR_GEN_AI_DATA_SOURCE_ID]: request.collection } },
    async (span) => {
      const fallback = deps.embedders.default;
      const { collection, created } = await deps.store.ensureCollection({
        tenantId: request.tenantId,
        name: request.collection,
        embeddingProvider: fallback.provider,
        embeddingModel: fallback.model,
        dimensions: fallback.dimensions,
        chunkSize: request.chunkSize ?? DEFAULT_CHUNK_OPTIONS.chunkSize,
        chunkOverlap: request.chunkOverlap ?? DEFAULT_CHUNK_OPTIONS.chunkOverlap,
      });
      span.setAttribute(FlowtraceAttributes.RAG_COLLECTION_ID, collection.id);
      const embedder = deps.embedders.require(
        collection.embeddingProvider,
        collection.embeddingModel,
        collection.name,
      );
      const result = await deps.store.addDocuments(collection, request.documents, {
        embedder,
        signal: request.signal,
        onCall: request.onEmbeddingCall,
        ...(request.ledger === undefined ? {} : ledgerEmbedHooks(request.ledger, embedder, deps.pricing)),
      });
      span.setAttributes({
        [FlowtraceAttributes.RAG_DOCUMENTS_ADDED]: result.documentsAdded,
        [FlowtraceAttributes.RAG_DOCUMENTS_UNCHANGED]: result.documentsUnchanged,
        [FlowtraceAttributes.RAG_CHUNKS_ADDED]: result.chunksAdded,
      });
      return {
        collection: {
          id: collection.id,
          name: collection.name,
          created,
          embeddingProvider: collection.embeddingProvider,
          embeddingModel: collection.embeddingModel,
          dimensions: collection.dimensions,
        },
        ...result,
      };
    },
  );
}
