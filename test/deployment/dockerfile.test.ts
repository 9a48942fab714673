import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppService, servicesOf } from './compose-setups.ts';
import { COMPOSE_BASE, ROOT, read, readYaml, strings } from './deployment-files.ts';

interface Instruction {
  op: string;
  args: string;
}

function dockerfile(): Instruction[] {
  return read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: (op as string).toUpperCase(), args: rest.join(' ') };
    });
}

/** Workspace folders, from the root package.json globs (`apps/*`, `packages/*`). */
function workspaces(): string[] {
  const globs = strings(JSON.parse(read('package.json')).workspaces);
  return globs.flatMap((glob) => {
    const base = glob.replace(/\/\*$/, '');
    return readdirSync(join(ROOT, base), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, base, entry.name, 'package.json')))
      .map((entry) => `${base}/${entry.name}`);
  });
}

/** Bare package names imported (not type-only) by the files reachable from `entry`. */
function runtimeImports(entries: string[]): Set<string> {
  const byName = new Map(
    workspaces().map((dir) => [JSON.parse(read(`${dir}/package.json`)).name as string, dir] as const),
  );
  const external = new Set<string>();
  const seen = new Set<string>();
  const pending = entries.map((entry) => join(ROOT, entry));
  const importPattern =
    /(?:^|[\s;])(?:import|export)\s+(?!type[\s{])(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
    for (const match of source.matchAll(importPattern)) {
      const specifier = (match[1] ?? match[2]) as string;
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        pending.push(resolve(dirname(file), specifier));
        continue;
      }
      const segments = specifier.split('/');
      const name = specifier.startsWith('@') ? segments.slice(0, 2).join('/') : (segments[0] as string);
      const workspace = byName.get(name);
      if (!workspace) {
        external.add(name);
        continue;
      }
      const subpath = `.${specifier.slice(name.length)}`;
      const exportsMap = JSON.parse(read(`${workspace}/package.json`)).exports as Record<string, string>;
      const target = exportsMap[subpath];
      if (!target) throw new Error(`${relative(ROOT, file)}: ${specifier} is not exported`);
      pending.push(join(ROOT, workspace, target));
    }
  }
  return external;
}

describe('Dockerfile', () => {
  const all = dockerfile();
  // The image is the last stage; the stages before it (the run viewer's build) only produce files that it
  // copies with `--from`.
  const imageStart = all.map((i) => i.op).lastIndexOf('FROM');
  const instructions = all.slice(imageStart);
  const at = (op: string) => instructions.filter((i) => i.op === op);

  it('runs on the Node version development pins, as a non-root user, in production mode', () => {
    const [from] = at('FROM');
    const pinned = String(JSON.parse(read('package.json')).devDependencies.node);
    const [major, minor] = pinned.split('.');
    expect(from?.args).toBe(`node:${major}.${minor}-bookworm-slim`);
    expect(at('FROM')).toHaveLength(1);
    for (const stage of all.filter((i) => i.op === 'FROM'))
      expect(stage.args.split(/\s+/)[0]).toBe(from?.args);
    const user = at('USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(
      at('ENV')
        .map((i) => i.args)
        .join(' '),
    ).toMatch(/\bNODE_ENV=production\b/);
  });

  it('installs from the lockfile with every workspace manifest, leaving dev dependencies out', () => {
    const npmCi = instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(0);
    expect(instructions[npmCi]?.args).toContain('--omit=dev');
    const copiedBefore = instructions
      .slice(0, npmCi)
      .filter((i) => i.op === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(copiedBefore).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    for (const workspace of workspaces()) expect(copiedBefore).toContain(`${workspace}/package.json`);
  });

  it('copies sources that exist, and .dockerignore keeps none of them out', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.git', '.env']));
    for (const copy of all.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))) {
      const sources = copy.args
        .split(/\s+/)
        .filter((arg) => !arg.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        expect(ignored, source).not.toContain(source);
        expect(ignored, source).not.toContain(source.split('/')[0]);
      }
    }
  });

  it('builds the run viewer in a build stage and ships only its output', () => {
    const copy = at('COPY').find(
      (i) => /--from=\S+/.test(i.args) && /\s(\.\/)?packages\/ui\/dist\/?$/.test(i.args),
    );
    expect(copy, 'COPY --from=<stage> … packages/ui/dist').toBeDefined();
    const stage = /--from=(\S+)/.exec(copy?.args ?? '')?.[1] ?? '';
    const stageStart = all.findIndex(
      (i) => i.op === 'FROM' && new RegExp(`\\sAS\\s+${stage}$`, 'i').test(i.args),
    );
    expect(stageStart, `a stage named ${stage}`).toBeGreaterThanOrEqual(0);
    const stageRuns = all
      .slice(stageStart, imageStart)
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(stageRuns).toMatch(/npm run build -w @flowtrace\/ui|npm run build:ui/);
  });

  it('starts processes from files that exist: its CMD and every compose command', () => {
    const cmd = JSON.parse(at('CMD').at(-1)?.args ?? '[]') as string[];
    const commands = [cmd];
    for (const [, service] of servicesOf(readYaml(COMPOSE_BASE))) {
      if (isAppService(service)) commands.push(strings(service.command));
    }
    for (const command of commands) {
      expect(command[0]).toBe('node');
      expect(existsSync(join(ROOT, command[1] as string)), command.join(' ')).toBe(true);
    }
  });

  it('needs no dev dependency at run time (npm ci --omit=dev leaves them out)', () => {
    const entries = [
      'apps/api/src/main.ts',
      'apps/worker/src/main.ts',
      'apps/cli/src/migrate.ts',
      'apps/cli/src/apikey.ts',
    ];
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    const imported = runtimeImports(entries);
    expect(imported.size).toBeGreaterThan(10);
    for (const name of imported) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, `${name} is installed`).toBeDefined();
      expect(entry?.dev, `${name} is a dev dependency`).not.toBe(true);
    }
  });
});
