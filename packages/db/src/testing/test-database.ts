import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { createDatabase, type DatabaseHandle } from '../client.ts';
import { migrateDatabase } from '../migrate.ts';
import { migrationsFolder } from '../migrations-folder.ts';

export interface TestDatabase {
  readonly url: string;
  readonly handle: DatabaseHandle;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** The server tests create their databases on (a real Postgres, never a mock). */
export function testAdminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function migrationsHash(): Promise<string> {
  const hash = createHash('sha256');
  const dir = migrationsFolder('core');
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()) {
    hash.update(file).update(await readFile(path.join(dir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * A fresh database for one test file, cloned from a template that has the core migrations applied.
 * The template is built once per migration set (keyed by a hash of the migration files) under an
 * advisory lock, so parallel test files share it safely; cloning takes tens of milliseconds.
 */
export async function createTestDatabase(options: { maxConnections?: number } = {}): Promise<TestDatabase> {
  const adminUrl = testAdminUrl();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const template = `flowtrace_tpl_${await migrationsHash()}`;
  const name = `flowtrace_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  try {
    await admin`select pg_advisory_lock(hashtext('flowtrace-test-template'))`;
    try {
      const [existing] = await admin`select 1 from pg_database where datname = ${template}`;
      if (!existing) {
        const building = `${template}_build`;
        await admin.unsafe(`drop database if exists "${building}"`);
        await admin.unsafe(`create database "${building}"`);
        await migrateDatabase(withDatabase(adminUrl, building), 'core');
        await admin.unsafe(`alter database "${building}" rename to "${template}"`);
      }
      await admin.unsafe(`create database "${name}" template "${template}"`);
    } finally {
      await admin`select pg_advisory_unlock(hashtext('flowtrace-test-template'))`;
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = withDatabase(adminUrl, name);
  const handle = createDatabase({
    url,
    maxConnections: options.maxConnections ?? 5,
    applicationName: 'flowtrace-test',
  });
  let dropped = false;
  return {
    url,
    handle,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await handle.close();
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end({ timeout: 5 });
      }
    },
  };
}
