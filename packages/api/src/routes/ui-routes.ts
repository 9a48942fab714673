import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { UI_DIST_DIR } from '@flowtrace/ui';
import { FlowtraceError } from '@flowtrace/workflow';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface UiRouteOptions {
  /** The built viewer (`npm run build:ui`); defaults to `packages/ui/dist`. */
  root?: string;
}

/**
 * The page loads only its own bundled script and stylesheet and talks only to this API: no inline script
 * or style, no other origin, no framing. The API key it holds is therefore out of reach of injected markup.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The single-page app's routes; the page itself tells the list from one run. */
const PAGE_PATHS = ['/ui/runs', '/ui/runs/:id'] as const;

/**
 * The run viewer under `/ui`: the built single-page app (`packages/ui`) as static files, with
 * `index.html` for each page route, content-hashed assets cached for good, and a strict
 * Content-Security-Policy on every response. The files are public; the page asks for an API key and
 * sends it only to `/v1`. Without a build, `/ui` answers 503 `ui_not_built` saying how to build it.
 */
export async function uiRoutes(app: FastifyInstance, options: UiRouteOptions = {}): Promise<void> {
  const root = path.resolve(options.root ?? UI_DIST_DIR);
  const built = existsSync(path.join(root, 'index.html'));

  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    return payload;
  });

  const toRuns = async (_request: unknown, reply: FastifyReply) => reply.redirect('/ui/runs', 302);
  app.get('/ui', { schema: { hide: true } }, toRuns);

  if (!built) {
    const notBuilt = async () => {
      throw new FlowtraceError(
        'ui_not_built',
        `the run viewer is not built (no ${path.join(root, 'index.html')}): run \`npm run build:ui\``,
      );
    };
    app.get('/ui/', { schema: { hide: true } }, notBuilt);
    app.get('/ui/*', { schema: { hide: true } }, notBuilt);
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/ui/',
    index: false,
    wildcard: true,
    // Only what the build wrote: no directory listing, no dotfiles, no redirects to a trailing slash.
    list: false,
    dotfiles: 'deny',
    redirect: false,
    cacheControl: false,
    schemaHide: true,
    // Built assets carry a content hash in their names; everything else is revalidated.
    setHeaders(reply, filePath) {
      const immutable = path.relative(root, filePath).startsWith(`assets${path.sep}`);
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });

  app.get('/ui/', { schema: { hide: true } }, toRuns);
  for (const page of PAGE_PATHS) {
    app.get(page, { schema: { hide: true } }, async (_request, reply) => reply.sendFile('index.html', root));
  }
}
