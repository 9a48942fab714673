import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.ts';

/** Workflow definitions; registering an existing name adds a version. */
export const workflows = pgTable(
  'workflows',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    /** The validated definition, defaults applied. */
    definition: jsonb('definition').notNull(),
    /** SHA-256 of the definition, so that re-registering the same definition reuses its version. */
    definitionHash: text('definition_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('workflows_tenant_name_version_idx').on(t.tenantId, t.name, t.version),
    index('workflows_tenant_hash_idx').on(t.tenantId, t.definitionHash),
  ],
);
