import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/** A free TCP port on loopback (the OS picks it; tiny race with other processes, acceptable in tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether a Redis server answers PING on this loopback port (one attempt, no retries). */
async function pingRedis(port: number): Promise<boolean> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

export interface PrivateRedis {
  readonly url: string;
  /** Stops the server abruptly (its data is gone: no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  flushAll(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback redis-server on `port` with no persistence and BullMQ's required eviction policy. */
function redisServerArgs(port: number): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
  ];
}

/**
 * A redis-server of a test's own, on a free port, so that a test may FLUSHALL or restart it without
 * touching the Redis other tests share.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const ping = () => pingRedis(port);
  const start = async () => {
    child = spawn('redis-server', redisServerArgs(port), { stdio: 'ignore' });
    await waitFor(ping, `redis-server on ${port}`);
  };
  const kill = async () => {
    const current = child;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    flushAll: async () => {
      const client = new Redis({ port, host: '127.0.0.1' });
      await client.flushall();
      client.disconnect();
    },
    close: kill,
  };
}

export interface PrivatePostgres {
  readonly url: string;
  /** `pg_ctl restart -m fast`: every connection is dropped, the server is back in about a second. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function postgresBin(tool: string): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  const version = versions[0];
  if (!version) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return path.join('/usr/lib/postgresql', version, 'bin', tool);
}

export interface PrivatePostgresOptions {
  /** Keep `fsync` on, so that commit costs are real (default off: a test needs no durability). */
  fsync?: boolean;
  /** More server settings, each `name=value`. */
  settings?: readonly string[];
}

/**
 * A PostgreSQL cluster of a test's own (initdb into a temporary directory, trust auth, a free port), so
 * that a test may restart the server without touching the one other tests share. Postgres refuses to run
 * as root, so as root it runs as the `postgres` user.
 */
export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'flowtrace-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = async (tool: string, args: string[]) => {
    const binary = await postgresBin(tool);
    return asRoot ? run('runuser', ['-u', 'postgres', '--', binary, ...args]) : run(binary, args);
  };
  const data = path.join(dir, 'data');
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const settings = [
    'listen_addresses=127.0.0.1',
    'max_connections=200',
    ...(options.fsync ? [] : ['fsync=off']),
    ...(options.settings ?? []),
  ];
  const serverOptions = [`-p ${port}`, `-k ${dir}`, ...settings.map((setting) => `-c ${setting}`)].join(' ');
  await pg('pg_ctl', ['-D', data, '-o', serverOptions, '-l', path.join(dir, 'server.log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: async () => {
      await pg('pg_ctl', [
        '-D',
        data,
        '-o',
        serverOptions,
        '-l',
        path.join(dir, 'server.log'),
        '-m',
        'fast',
        '-w',
        'restart',
      ]);
    },
    close: async () => {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedisCluster {
  /** Comma-separated seed URLs (REDIS_URL in cluster mode). */
  readonly url: string;
  close(): Promise<void>;
}

/** A three-primary Redis Cluster on free ports (redis-server --cluster-enabled, redis-cli --cluster create). */
export async function startPrivateRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flowtrace-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [
        ...redisServerArgs(port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
  for (const port of ports) {
    await waitFor(() => pingRedis(port), `cluster node ${port}`);
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  await waitFor(async () => {
    const { stdout } = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
    return stdout.includes('cluster_state:ok');
  }, 'cluster_state:ok');
  return {
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','),
    close: async () => {
      for (const child of children) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
