import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Builds the run viewer into `dist/`, which the API serves under `/ui/` (see
 * `packages/api/src/routes/ui-routes.ts`). Everything the page needs is bundled: no CDN, no inline script
 * or style, so it runs under the API's strict Content-Security-Policy.
 *
 * `npm run dev -w @flowtrace/ui` serves the page with hot reload and forwards `/v1` to the API at
 * FLOWTRACE_API_URL (default http://127.0.0.1:3000).
 */
export default defineConfig({
  root: here('./app'),
  base: '/ui/',
  publicDir: here('./app/public'),
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    // Keeps inline `data:` URIs out of the bundle, which the Content-Security-Policy would refuse.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/v1': process.env.FLOWTRACE_API_URL ?? 'http://127.0.0.1:3000' },
  },
});
