import { defineConfig } from 'drizzle-kit';

/**
 * Vector-store tables (RAG collections, documents, chunks). They need pgvector and may live in another
 * database (`VECTOR_DATABASE_URL`), so they have their own migration folder and journal.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/db/src/schema/vector.ts',
  out: './drizzle/vector',
  dbCredentials: {
    url:
      process.env.VECTOR_DATABASE_URL ??
      process.env.DATABASE_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
  },
  migrations: { table: '__drizzle_migrations_vector', schema: 'drizzle' },
});
