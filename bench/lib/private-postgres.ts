import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/private-servers.ts';

const run = promisify(execFile);

export interface ProfilingPostgres {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the profiler's own, with `pg_stat_statements` preloaded (the shared server does
 * not load it, and its statistics would mix in other people's tests). Durability settings are left at the
 * server defaults (fsync and synchronous_commit on), like the shared server's, so commit costs are real.
 * Postgres refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startProfilingPostgres(): Promise<ProfilingPostgres> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const bin = (tool: string) => path.join('/usr/lib/postgresql', versions[0] as string, 'bin', tool);
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'flowtrace-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', bin(tool), ...args]) : run(bin(tool), args);
  const data = path.join(dir, 'data');
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=200',
    '-c shared_preload_libraries=pg_stat_statements',
    '-c pg_stat_statements.track=all',
  ].join(' ');
  await pg('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    close: async () => {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
