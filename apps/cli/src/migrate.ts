import { migrateAll } from '@flowtrace/db';
import { z } from 'zod';

/** `npm run db:migrate`: creates the database if needed and applies the drizzle/ migrations. */
const env = z
  .object({
    DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/flowtrace'),
    /** The vector store (RAG); the main database when unset. Needs pgvector. */
    VECTOR_DATABASE_URL: z.string().optional(),
  })
  .parse(process.env);

const redacted = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
const result = await migrateAll({
  databaseUrl: env.DATABASE_URL,
  ...(env.VECTOR_DATABASE_URL ? { vectorUrl: env.VECTOR_DATABASE_URL } : {}),
});
console.log(`${result.createdDatabase ? 'created and ' : ''}migrated ${redacted(env.DATABASE_URL)}`);
if (!result.vector) {
  console.warn(
    `pgvector is not available at ${redacted(env.VECTOR_DATABASE_URL ?? env.DATABASE_URL)}: ` +
      'RAG collections are disabled until VECTOR_DATABASE_URL points at a Postgres with pgvector.',
  );
}
