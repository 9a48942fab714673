import { fileURLToPath } from 'node:url';

/**
 * Where `npm run build:ui` writes the run viewer (index.html and hashed assets); the API serves this folder
 * under `/ui/`.
 */
export const UI_DIST_DIR: string = fileURLToPath(new URL('../dist/', import.meta.url));
