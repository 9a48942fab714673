import { FlowtraceAttributes, FlowtraceEvents } from '@flowtrace/telemetry';
import { PermanentNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { startTargetServer, type TargetServer } from '../testing/target-server.ts';
import { GuardedHttpClient } from './guarded-http-client.ts';
import { client, clients, inSpan, target, useGuardedHttpHarness } from './guarded-http-test-harness.ts';

useGuardedHttpHarness();

describe('GuardedHttpClient: SSRF guard', () => {
  const refused: [string, (t: TargetServer) => string, RegExp][] = [
    ['loopback IPv4', (t) => `${t.url}/x`, /127\.0\.0\.1.*loopback range 127\.0\.0\.0\/8/],
    ['loopback IPv6', (t) => `http://[::1]:${t.port}/x`, /::1.*loopback address/],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254.*link-local/],
    ['RFC 1918', () => 'http://10.0.0.1/', /10\.0\.0\.1.*private range \(RFC 1918\) 10\.0\.0\.0\/8/],
    ['RFC 1918 172.16/12', () => 'http://172.20.1.1/', /private range.*172\.16\.0\.0\/12/],
    ['decimal integer host', (t) => `http://2130706433:${t.port}/`, /127\.0\.0\.1.*loopback/],
    ['hex octet host', (t) => `http://0x7f.0.0.1:${t.port}/`, /127\.0\.0\.1.*loopback/],
    [
      'IPv4-mapped IPv6',
      (t) => `http://[::ffff:127.0.0.1]:${t.port}/`,
      /IPv4-mapped IPv6 address of 127\.0\.0\.1/,
    ],
    ['unspecified', (t) => `http://0.0.0.0:${t.port}/`, /unspecified/],
    ['CGNAT', () => 'http://100.64.0.1/', /carrier-grade NAT/],
    ['unique-local IPv6', () => 'http://[fd00::1]/', /unique-local/],
    ['link-local IPv6', () => 'http://[fe80::1]/', /link-local/],
    ['broadcast', () => 'http://255.255.255.255/', /reserved range/],
    ['localhost by name', (t) => `http://localhost:${t.port}/`, /localhost.*loopback host name/],
    [
      'metadata host name',
      () => 'http://metadata.google.internal/computeMetadata/v1/',
      /metadata\.google\.internal.*cloud metadata host name/,
    ],
    [
      'name resolving to loopback',
      (t) => `http://evil.test:${t.port}/`,
      /"evil\.test" \(127\.0\.0\.1\).*loopback range/,
    ],
    [
      'name with one private address among public ones',
      (t) => `http://rebind.test:${t.port}/`,
      /rebind\.test.*127\.0\.0\.1/,
    ],
    [
      'name resolving to an IPv4-mapped address',
      (t) => `http://mapped.test:${t.port}/`,
      /mapped\.test.*IPv4-mapped/,
    ],
    ['file scheme', () => 'file:///etc/passwd', /scheme "file"/],
  ];

  for (const [label, url, reason] of refused) {
    it(`refuses ${label} with the reason on the span`, async () => {
      const http = client();
      const { error, span } = await inSpan(() => http.request({ method: 'GET', url: url(target) }));
      expect(error).toBeInstanceOf(PermanentNodeError);
      expect((error as PermanentNodeError).code).toBe('connector_blocked');
      expect((error as Error).message).toMatch(reason);
      const event = span.events.find((e) => e.name === FlowtraceEvents.CONNECTOR_BLOCKED);
      expect(event?.attributes?.[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(reason);
      expect(span.attributes[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(reason);
      expect(target.requests).toHaveLength(0);
    });
  }

  it('refuses localhost with the default (system) resolver too', async () => {
    const http = new GuardedHttpClient();
    clients.push(http);
    for (const host of ['localhost', 'LOCALHOST.', 'api.localhost']) {
      const { error } = await inSpan(() =>
        http.request({ method: 'GET', url: `http://${host}:${target.port}/` }),
      );
      expect((error as PermanentNodeError).code).toBe('connector_blocked');
    }
    expect(target.requests).toHaveLength(0);
  });

  it('reaches an allow-listed loopback host', async () => {
    target.on('GET', '/hello', { body: { hello: 'world' } });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const response = await http.request({ method: 'GET', url: `${target.url}/hello?a=1` });
    expect(response.status).toBe(200);
    expect(JSON.parse(String(response.body))).toEqual({ hello: 'world' });
    expect(target.requests[0]?.url).toBe('/hello?a=1');
  });

  it('connects to the checked address of an allow-listed name', async () => {
    target.on('GET', '/', { body: 'ok' });
    const http = client({ allowedHosts: ['*.good.test'] });
    const response = await http.request({ method: 'GET', url: `http://other.good.test:${target.port}/` });
    expect(response.status).toBe(200);
    expect(target.requests[0]?.headers.host).toBe(`other.good.test:${target.port}`);
  });

  it('allows an address inside an allow-listed CIDR, for literals and resolved names alike', async () => {
    target.on('GET', '/', { body: 'ok' });
    const http = client({ allowedCidrs: ['127.0.0.0/8'] });
    expect((await http.request({ method: 'GET', url: `${target.url}/` })).status).toBe(200);
    expect((await http.request({ method: 'GET', url: `http://evil.test:${target.port}/` })).status).toBe(200);
    const refused = await http.request({ method: 'GET', url: 'http://10.0.0.1/' }).catch((e: unknown) => e);
    expect((refused as PermanentNodeError).code).toBe('connector_blocked');
  });

  for (const [label, location] of [
    ['a loopback name', (t: TargetServer) => `http://localhost:${t.port}/secret`],
    ['a name resolving to loopback', (t: TargetServer) => `http://evil.test:${t.port}/secret`],
    ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', () => 'http://10.0.0.1/admin'],
  ] as const) {
    it(`refuses a redirect from an allow-listed server to ${label}`, async () => {
      target.redirect('/start', location(target));
      target.on('GET', '/secret', { body: 'secret' });
      const http = client({ allowedHosts: ['127.0.0.1'] });
      const { error, span } = await inSpan(() => http.request({ method: 'GET', url: `${target.url}/start` }));
      expect((error as PermanentNodeError).code).toBe('connector_blocked');
      expect(span.attributes[FlowtraceAttributes.CONNECTOR_BLOCKED_REASON]).toMatch(/refused/);
      expect(target.requests.map((r) => r.path)).toEqual(['/start']);
    });
  }
});

describe('GuardedHttpClient: redirects', () => {
  it('follows up to 5 redirects and fails on the 6th', async () => {
    for (let i = 0; i < 6; i++) target.redirect(`/r${i}`, `/r${i + 1}`);
    target.on('GET', '/r6', { body: 'done' });
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const ok = await http.request({ method: 'GET', url: `${target.url}/r1` });
    expect(ok.redirects).toBe(5);
    expect(ok.url).toBe(`${target.url}/r6`);
    const error = await http.request({ method: 'GET', url: `${target.url}/r0` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentNodeError);
    expect((error as Error).message).toMatch(/more than 5 redirects/);
  });

  it('turns a POST into a GET on 303 and keeps it on 307', async () => {
    target.redirect('/see-other', '/landing', 303);
    target.redirect('/temporary', '/landing', 307);
    target.on('*', '/landing', (req) => ({ body: { method: req.method, body: req.text } }));
    const http = client({ allowedHosts: ['127.0.0.1'] });
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
    const r303 = await http.request({ ...post, url: `${target.url}/see-other` });
    expect(JSON.parse(String(r303.body))).toEqual({ method: 'GET', body: '' });
    const r307 = await http.request({ ...post, url: `${target.url}/temporary` });
    expect(JSON.parse(String(r307.body))).toEqual({ method: 'POST', body: '{"a":1}' });
  });

  it('drops credential headers when a redirect leaves the origin', async () => {
    const other = await startTargetServer();
    try {
      target.redirect('/go', `http://good.test:${other.port}/landed`);
      other.on('GET', '/landed', { body: 'ok' });
      const http = client({ allowedHosts: ['127.0.0.1', 'good.test'] });
      await http.request({
        method: 'GET',
        url: `${target.url}/go`,
        headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k3y-value', accept: 'text/plain' },
        sensitiveHeaders: ['x-api-key'],
      });
      expect(target.requests[0]?.headers.authorization).toBe('Bearer s3cret');
      const landed = other.requests[0];
      expect(landed?.headers.authorization).toBeUndefined();
      expect(landed?.headers['x-api-key']).toBeUndefined();
      expect(landed?.headers.accept).toBe('text/plain');
    } finally {
      await other.close();
    }
  });
});
