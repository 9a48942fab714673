import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationsFolder } from './migrations-folder.ts';

const REPO = path.resolve(import.meta.dirname, '../../..');

describe('migrationsFolder', () => {
  const temporary: string[] = [];
  afterEach(async () => {
    for (const dir of temporary.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A copy of this module at `depth` under a root whose package.json is `manifest`, imported from there. */
  async function copyUnder(manifest: object, depth: string) {
    const root = await mkdtemp(path.join(tmpdir(), 'flowtrace-migrations-'));
    temporary.push(root);
    await writeFile(path.join(root, 'package.json'), JSON.stringify(manifest));
    const dir = path.join(root, depth);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: '@flowtrace/db' }));
    await copyFile(path.join(import.meta.dirname, 'migrations-folder.ts'), path.join(dir, 'copy.ts'));
    const module: typeof import('./migrations-folder.ts') = await import(path.join(dir, 'copy.ts'));
    return { root, migrationsFolder: module.migrationsFolder };
  }

  it('finds drizzle-kit output at the workspace root, where drizzle.config.ts writes it', () => {
    for (const set of ['core', 'vector'] as const) {
      expect(migrationsFolder(set)).toBe(path.join(REPO, 'drizzle', set));
      expect(existsSync(path.join(migrationsFolder(set), 'meta', '_journal.json'))).toBe(true);
    }
  });

  it('does not depend on where the module sits below the workspace root (as in the image: /app)', async () => {
    const copy = await copyUnder({ name: 'app', workspaces: ['packages/*'] }, 'packages/db/src/some/deeper');
    expect(copy.migrationsFolder('core')).toBe(path.join(copy.root, 'drizzle', 'core'));
    expect(copy.migrationsFolder('vector')).toBe(path.join(copy.root, 'drizzle', 'vector'));
  });

  it('says what is missing when no package.json above declares workspaces', async () => {
    const copy = await copyUnder({ name: 'not-a-workspace' }, 'packages/db/src');
    expect(() => copy.migrationsFolder('core')).toThrow(
      /no package\.json with "workspaces" in .* or above it/,
    );
  });
});
