import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  redis: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  bullmq: string;
  otelSdk: string;
  loadAverage: number[];
}

const require = createRequire(import.meta.url);

/** A dependency's version, from its package.json next to its resolved entry point. */
function packageVersion(name: string): string {
  try {
    let dir = path.dirname(require.resolve(name));
    while (dir !== path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? '?';
      }
      dir = path.dirname(dir);
    }
  } catch {
    // not resolvable from here
  }
  return '?';
}

/** The machine and the versions of what the benchmark ran on, read at run time. */
export async function machineInfo(redisUrl: string, postgresUrl: string): Promise<MachineInfo> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisVersion = '?';
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  } finally {
    redis.disconnect();
  }
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  let postgresVersion = '?';
  const settings: Record<string, string> = {};
  try {
    const [row] = await sql<{ server_version: string }[]>`show server_version`;
    postgresVersion = row?.server_version ?? '?';
    const rows = await sql<{ name: string; setting: string }[]>`
      select name, setting from pg_settings
      where name in ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')`;
    for (const r of rows) settings[r.name] = r.setting;
  } finally {
    await sql.end({ timeout: 5 });
  }
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: redisVersion,
    postgres: postgresVersion,
    postgresSettings: settings,
    bullmq: packageVersion('bullmq'),
    otelSdk: packageVersion('@opentelemetry/sdk-node'),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
