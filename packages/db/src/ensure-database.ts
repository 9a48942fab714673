import postgres from 'postgres';

/**
 * Creates the database a URL names when it does not exist yet, connecting to the server's `postgres`
 * maintenance database to do so. Returns true when it created it.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name || name === 'postgres') return false;
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${name}`;
    if (exists) return false;
    try {
      await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
    } catch (error) {
      // Another process created it at the same moment.
      if ((error as { code?: string }).code === '42P04') return false;
      throw error;
    }
    return true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Whether the server behind a URL can install pgvector (`create extension vector`). */
export async function hasPgvector(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [row] = await sql`select 1 from pg_available_extensions where name = 'vector'`;
    return row !== undefined;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
