import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../http/error-handler.ts';
import { UI_CONTENT_SECURITY_POLICY, uiRoutes } from './ui-routes.ts';

const INDEX =
  '<!doctype html><title>viewer</title><script type="module" src="/ui/assets/app-1a2b.js"></script>';
const SECRET = 'outside-the-root-9f8e7d';

async function appServing(root: string): Promise<FastifyInstance> {
  const app = Fastify();
  registerErrorHandling(app);
  app.get('/v1/elsewhere', async () => ({ ok: true }));
  await app.register(uiRoutes, { root });
  await app.ready();
  return app;
}

describe('the run viewer routes', () => {
  let dir: string;
  let app: FastifyInstance;
  let unbuilt: FastifyInstance;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'flowtrace-ui-'));
    const root = path.join(dir, 'dist');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), INDEX);
    await writeFile(path.join(root, 'assets', 'app-1a2b.js'), 'console.log("viewer")');
    await writeFile(path.join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(path.join(root, '.env'), SECRET);
    await writeFile(path.join(dir, 'secret.txt'), SECRET);
    await mkdir(path.join(dir, 'empty'));
    app = await appServing(root);
    unbuilt = await appServing(path.join(dir, 'empty'));
  });

  afterAll(async () => {
    await Promise.all([app?.close(), unbuilt?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page for the list and for one run, uncached, under a strict CSP', async () => {
    for (const url of ['/ui/runs', '/ui/runs/', '/ui/runs/0b6a3c1e-3f43-4c55-9d7e-1c2b3a4d5e6f']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.body).toBe(INDEX);
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(UI_CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(UI_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('redirects /ui to the runs list', async () => {
    for (const url of ['/ui', '/ui/']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(302);
      expect(response.headers.location).toBe('/ui/runs');
    }
  });

  it('serves hashed assets for good and other files revalidated', async () => {
    const script = await app.inject({ method: 'GET', url: '/ui/assets/app-1a2b.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.headers['content-security-policy']).toBe(UI_CONTENT_SECURITY_POLICY);
    const icon = await app.inject({ method: 'GET', url: '/ui/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('serves nothing outside the build, no dotfiles and no listings', async () => {
    for (const url of [
      '/ui/../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/assets/..%2f..%2fsecret.txt',
      '/ui/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/ui/..%5csecret.txt',
      '/ui/.env',
      '/ui/assets/',
      '/ui/missing.js',
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, url).toBeLessThan(500);
      expect(response.body, url).not.toContain(SECRET);
      expect(response.json().error?.code, url).toBeTypeOf('string');
    }
    const missing = await app.inject({ method: 'GET', url: '/ui/missing.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('leaves the other routes alone', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/elsewhere' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-security-policy']).toBeUndefined();
  });

  it('says how to build the viewer when it is not built', async () => {
    const response = await unbuilt.inject({ method: 'GET', url: '/ui/runs' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: 'ui_not_built' } });
    expect(response.json().error.message).toContain('npm run build:ui');
    const redirect = await unbuilt.inject({ method: 'GET', url: '/ui' });
    expect(redirect.statusCode).toBe(302);
  });
});
