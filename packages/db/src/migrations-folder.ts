import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The migration sets, each with its own folder and journal (core tables; vector-store tables). */
export type MigrationSet = 'core' | 'vector';

/**
 * The folder of a migration set: `drizzle/core` or `drizzle/vector` at the workspace root, where
 * drizzle-kit writes them (drizzle.config.ts, drizzle.vector.config.ts) and where the Dockerfile copies
 * them (/app/drizzle beside /app/package.json). The root is the nearest folder above this package whose
 * package.json declares `workspaces`, so the answer does not depend on how deep this file sits.
 */
export function migrationsFolder(set: MigrationSet): string {
  return path.join(workspaceRoot(import.meta.dirname), 'drizzle', set);
}

function workspaceRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && 'workspaces' in JSON.parse(readFileSync(manifest, 'utf8'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(
        `no package.json with "workspaces" in ${from} or above it: the drizzle/ migrations are found beside it`,
      );
    }
  }
}
