import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds the run viewer from its current sources with Vite (well under a second), so that a browser test
 * or a screenshot never shows a stale bundle. Writes `packages/ui/dist`, which the API serves.
 */
export async function buildRunViewer(): Promise<void> {
  const vitePackage = createRequire(`${PACKAGE_DIR}package.json`).resolve('vite/package.json');
  const vite = path.join(path.dirname(vitePackage), 'bin/vite.js');
  await promisify(execFile)(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: PACKAGE_DIR });
}
