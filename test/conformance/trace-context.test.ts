import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '@flowtrace/db/testing';
import { type LocalStack, startLocalStack } from '@flowtrace/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraceContextAdapter, type TraceContextAdapter } from '../support/trace-context-adapter.ts';

/**
 * The Level 1 and Level 2 cases of the W3C Trace Context test suite (github.com/w3c/trace-context,
 * `test/test.py`, strict level 2), written here from the spec and the suite's cases. Each case is sent the
 * way the suite's harness sends it (the harness-side request, header lines as given, through the same
 * adapter: `POST /v1/runs` with one connector node per callback) to the API and a connector worker, real
 * processes, with the SDK on and with `OTEL_SDK_DISABLED=true`; the assertions are on the headers the
 * callbacks receive.
 */

type HeaderLines = [name: string, value: string][];

const TRACE = '12345678901234567890123456789012';
const PARENT = '1234567890123456';
const TRACEPARENT_FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The callback side of the harness: records the header lines of each POST it receives, by path. */
async function startCallbackServer() {
  const received = new Map<string, HeaderLines>();
  const server: Server = createServer((req, res) => {
    const lines: HeaderLines = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      lines.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
    received.set(req.url ?? '', lines);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('null');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((r) => server.close(r)) };
}

/** A parsed outgoing `traceparent`, as the suite's `Traceparent.from_string` reads it. */
interface Traceparent {
  version: string;
  traceId: string;
  parentId: string;
  flags: number;
}

/** The one `traceparent` of a callback (the suite fails on zero or several) and its combined `tracestate`. */
function traceContextOf(lines: HeaderLines): { traceparent: Traceparent; tracestate: Map<string, string> } {
  const traceparents = lines.filter(([name]) => name.toLowerCase() === 'traceparent');
  expect(traceparents, 'exactly one traceparent header').toHaveLength(1);
  const match = TRACEPARENT_FORMAT.exec((traceparents[0] as [string, string])[1]);
  expect(match, `a valid traceparent: ${traceparents[0]?.[1]}`).not.toBeNull();
  const [, version, traceId, parentId, flags] = match as RegExpExecArray;
  expect(version).toBe('00');
  expect(traceId).not.toBe('0'.repeat(32));
  expect(parentId).not.toBe('0'.repeat(16));
  const tracestate = new Map<string, string>();
  for (const [name, value] of lines) {
    if (name.toLowerCase() !== 'tracestate') continue;
    for (const member of value.split(/[ \t]*,[ \t]*/)) {
      if (!member) continue;
      const equals = member.indexOf('=');
      expect(equals, `a well-formed tracestate member: ${member}`).toBeGreaterThan(0);
      const key = member.slice(0, equals);
      if (!tracestate.has(key)) tracestate.set(key, member.slice(equals + 1));
    }
  }
  return {
    traceparent: {
      version: version as string,
      traceId: traceId as string,
      parentId: parentId as string,
      flags: Number.parseInt(flags as string, 16),
    },
    tracestate,
  };
}

const serialized = (state: Map<string, string>) => [...state].map(([k, v]) => `${k}=${v}`).join(',');

describe.each<{ mode: string; env: Record<string, string> }>([
  { mode: 'SDK on', env: {} },
  { mode: 'OTEL_SDK_DISABLED=true', env: { OTEL_SDK_DISABLED: 'true' } },
])('W3C Trace Context conformance (Level 1 and 2, strict), $mode', ({ env }) => {
  let db: TestDatabase;
  let stack: LocalStack;
  let adapter: TraceContextAdapter;
  let callbacks: Awaited<ReturnType<typeof startCallbackServer>>;
  let scope = 0;

  beforeAll(async () => {
    [db, callbacks] = await Promise.all([createTestDatabase(), startCallbackServer()]);
    stack = await startLocalStack({
      dataDir: `/tmp/flowtrace-conformance-${process.pid}-${env.OTEL_SDK_DISABLED ? 'off' : 'on'}`,
      databaseUrl: db.url,
      workers: [{ kinds: ['connector'] }],
      env: { LOG_LEVEL: 'info', FLOWTRACE_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1', ...env },
    });
    adapter = await startTraceContextAdapter({ apiUrl: stack.apiUrl, apiKey: stack.apiKey });
  }, 180_000);

  afterAll(async () => {
    await adapter?.close();
    await stack?.stop();
    await Promise.all([db?.drop(), callbacks?.close()]);
  });

  /** One harness request: the header lines as given, `count` callbacks; their received header lines. */
  async function send(headers: HeaderLines, count = 1): Promise<HeaderLines[]> {
    scope += 1;
    const urls = Array.from({ length: count }, (_, i) => `${callbacks.url}/scope${scope}.${i}`);
    const payload = JSON.stringify(urls.map((url) => ({ url, arguments: [] })));
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        adapter.url,
        {
          method: 'POST',
          headers: [
            'host',
            new URL(adapter.url).host,
            'content-type',
            'application/json',
            'content-length',
            String(Buffer.byteLength(payload)),
            ...headers.flat(),
          ],
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    expect(status).toBe(200);
    return urls.map((url) => {
      const lines = callbacks.received.get(new URL(url).pathname);
      expect(lines, `the service called back ${url}`).toBeDefined();
      return lines as HeaderLines;
    });
  }

  const single = async (headers: HeaderLines) => traceContextOf((await send(headers))[0] as HeaderLines);
  const tp = (value: string): HeaderLines => [['traceparent', value]];
  const unsampled = `00-${TRACE}-${PARENT}-00`;

  describe('traceparent (Level 1)', () => {
    it('starts a trace when neither header is sent', async () => {
      await single([]);
    });

    it('continues a valid traceparent with a new parent-id', async () => {
      const { traceparent } = await single(tp(`00-${TRACE}-${PARENT}-01`));
      expect(traceparent.traceId).toBe(TRACE);
      expect(traceparent.parentId).not.toBe(PARENT);
    });

    it('matches the header name case-insensitively and nothing else', async () => {
      for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT'])
        expect((await single([[name, `00-${TRACE}-${PARENT}-01`]])).traceparent.traceId, name).toBe(TRACE);
      for (const name of ['trace-parent', 'trace.parent'])
        expect((await single([[name, `00-${TRACE}-${PARENT}-01`]])).traceparent.traceId, name).not.toBe(
          TRACE,
        );
    });

    it('restarts the trace on two traceparent headers', async () => {
      const { traceparent } = await single([
        ['traceparent', `00-${TRACE.slice(0, 31)}1-${PARENT}-01`],
        ['traceparent', `00-${TRACE}-${PARENT}-01`],
      ]);
      expect([`${TRACE.slice(0, 31)}1`, TRACE]).not.toContain(traceparent.traceId);
    });

    it('accepts surrounding OWS', async () => {
      for (const value of [' V', '\tV', 'V ', 'V\t', '\t V \t'])
        expect(
          (await single(tp(value.replace('V', `00-${TRACE}-${PARENT}-01`)))).traceparent.traceId,
          JSON.stringify(value),
        ).toBe(TRACE);
    });

    it('continues a future version, trailing fields after a dash included', async () => {
      for (const value of [
        `cc-${TRACE}-${PARENT}-01`,
        `cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`,
      ])
        expect((await single(tp(value))).traceparent.traceId, value).toBe(TRACE);
    });

    it('restarts the trace on every malformed traceparent', async () => {
      const malformed = [
        `00-${TRACE}-${PARENT}-01.`,
        `00-${TRACE}-${PARENT}-01-what-the-future-will-be-like`,
        `cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`,
        `ff-${TRACE}-${PARENT}-01`,
        `.0-${TRACE}-${PARENT}-01`,
        `0.-${TRACE}-${PARENT}-01`,
        `000-${TRACE}-${PARENT}-01`,
        `0000-${TRACE}-${PARENT}-01`,
        `0-${TRACE}-${PARENT}-01`,
        `00-${TRACE}-0000000000000000-01`,
        `00-${TRACE}-.234567890123456-01`,
        `00-${TRACE}-123456789012345.-01`,
        `00-${TRACE}-12345678901234567-01`,
        `00-${TRACE}-123456789012345-01`,
        `00-${TRACE}-${PARENT}-.0`,
        `00-${TRACE}-${PARENT}-0.`,
        `00-${TRACE}-${PARENT}-001`,
        `00-${TRACE}-${PARENT}-1`,
      ];
      for (const value of malformed)
        expect((await single(tp(value))).traceparent.traceId, value).not.toBe(TRACE);
      for (const [value, refused] of [
        [`00-${'0'.repeat(32)}-${PARENT}-01`, '0'.repeat(32)],
        [`00-.${TRACE.slice(1)}-${PARENT}-01`, `.${TRACE.slice(1)}`],
        [`00-${TRACE.slice(0, 31)}.-${PARENT}-01`, `${TRACE.slice(0, 31)}.`],
        [`00-${TRACE.slice(0, 31)}-${PARENT}-01`, TRACE.slice(0, 31)],
      ] as const)
        expect((await single(tp(value))).traceparent.traceId, value).not.toBe(refused);
      const tooLong = await single(tp(`00-${TRACE}3-${PARENT}-01`));
      expect([TRACE, `${TRACE}3`, `${TRACE.slice(1)}3`]).not.toContain(tooLong.traceparent.traceId);
    });
  });

  describe('tracestate (Level 1, strict)', () => {
    it('forwards tracestate with the traceparent it came with', async () => {
      const { traceparent, tracestate } = await single([...tp(unsampled), ['tracestate', 'foo=1,bar=2']]);
      expect(traceparent.traceId).toBe(TRACE);
      expect(serialized(tracestate)).toBe('foo=1,bar=2');
    });

    it('discards tracestate without a traceparent', async () => {
      const one = await single([['tracestate', 'foo=1']]);
      const two = await single([['tracestate', 'foo=1,bar=2']]);
      expect(one.tracestate.size).toBe(two.tracestate.size);
      expect(one.tracestate.has('foo')).toBe(false);
    });

    it('matches the header name case-insensitively and nothing else', async () => {
      for (const name of ['TraceState', 'TrAcEsTaTe', 'TRACESTATE'])
        expect((await single([...tp(unsampled), [name, 'foo=1']])).tracestate.get('foo'), name).toBe('1');
      for (const name of ['trace-state', 'trace.state'])
        expect((await single([...tp(unsampled), [name, 'foo=1']])).tracestate.has('foo'), name).toBe(false);
    });

    it('accepts empty tracestate headers and combines repeated ones in order', async () => {
      const empty = await single([...tp(unsampled), ['tracestate', '']]);
      expect(empty.traceparent.traceId).toBe(TRACE);
      for (const lines of [
        [
          ['tracestate', 'foo=1'],
          ['tracestate', ''],
        ],
        [
          ['tracestate', ''],
          ['tracestate', 'foo=1'],
        ],
      ] as HeaderLines[]) {
        const { traceparent, tracestate } = await single([...tp(unsampled), ...lines]);
        expect(traceparent.traceId).toBe(TRACE);
        expect(tracestate.get('foo')).toBe('1');
      }
      const combined = await single([
        ...tp(unsampled),
        ['tracestate', 'foo=1,bar=2'],
        ['tracestate', 'rojo=1,congo=2'],
        ['tracestate', 'baz=3'],
      ]);
      expect(serialized(combined.tracestate)).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    });

    it('keeps one value of a duplicated key', async () => {
      for (const lines of [
        [['tracestate', 'foo=1,foo=1']],
        [['tracestate', 'foo=1,foo=2']],
        [
          ['tracestate', 'foo=1'],
          ['tracestate', 'foo=1'],
        ],
        [
          ['tracestate', 'foo=1'],
          ['tracestate', 'foo=2'],
        ],
      ] as HeaderLines[]) {
        const { traceparent, tracestate } = await single([...tp(unsampled), ...lines]);
        expect(traceparent.traceId).toBe(TRACE);
        expect(['1', '2']).toContain(tracestate.get('foo'));
      }
    });

    it('forwards every allowed character, and OWS around members is not part of them', async () => {
      const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
      const value = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i))
        .filter((c) => c !== ',' && c !== '=')
        .join('');
      for (const k of [key, `${key}@a-z0-9_-*/`])
        expect((await single([...tp(unsampled), ['tracestate', `${k}=${value}`]])).tracestate.get(k)).toBe(
          value,
        );
      for (const header of ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3'])
        expect(serialized((await single([...tp(unsampled), ['tracestate', header]])).tracestate)).toBe(
          'foo=1,bar=2,baz=3',
        );
      for (const header of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) {
        const { traceparent, tracestate } = await single([...tp(unsampled), ['tracestate', header]]);
        expect(traceparent.traceId).toBe(TRACE);
        expect(tracestate.get('foo'), JSON.stringify(header)).toBe('1');
      }
    });

    it('discards a tracestate with an illegal key or value', async () => {
      for (const [header, key] of [
        ['foo =1', 'foo '],
        ['FOO=1', 'FOO'],
        ['foo.bar=1', 'foo.bar'],
        ['foo=bar=baz', 'foo'],
      ] as const)
        expect((await single([...tp(unsampled), ['tracestate', header]])).tracestate.has(key), header).toBe(
          false,
        );
      const empty = await single([...tp(unsampled), ['tracestate', 'foo=,bar=3']]);
      expect(empty.tracestate.has('foo')).toBe(false);
      expect(empty.tracestate.has('bar')).toBe(false);
    });

    it('forwards keys with `@` where the key grammar allows it, and discards a header whose key starts with it', async () => {
      for (const key of ['foo@', 'foo@@bar', 'foo@bar@baz']) {
        const { tracestate } = await single([...tp(unsampled), ['tracestate', `${key}=1,bar=2`]]);
        expect(tracestate.get(key), key).toBe('1');
        expect(tracestate.get('bar')).toBe('2');
      }
      expect((await single([...tp(unsampled), ['tracestate', '@foo=1,bar=2']])).tracestate.has('bar')).toBe(
        false,
      );
    });

    it('keeps 32 members and discards the whole header at 33', async () => {
      const members = Array.from(
        { length: 33 },
        (_, i) => `bar${String(i + 1).padStart(2, '0')}=${String(i + 1).padStart(2, '0')}`,
      );
      const lines = (n: number): HeaderLines =>
        [0, 10, 20, 30].map((start) => [
          'tracestate',
          members.slice(start, Math.min(start + 10, n)).join(','),
        ]);
      const kept = await single([...tp(unsampled), ...lines(32)]);
      expect(kept.tracestate.get('bar01')).toBe('01');
      expect(kept.tracestate.size).toBe(32);
      expect((await single([...tp(unsampled), ...lines(33)])).tracestate.has('bar01')).toBe(false);
    });

    it('keeps keys of up to 256 characters and discards the whole header past that', async () => {
      for (const key of [
        'z'.repeat(256),
        `${'t'.repeat(241)}@${'v'.repeat(14)}`,
        `${'t'.repeat(242)}@v`,
        `t@${'v'.repeat(15)}`,
      ]) {
        const { tracestate } = await single([
          ...tp(unsampled),
          ['tracestate', 'foo=1'],
          ['tracestate', `${key}=1`],
        ]);
        expect(tracestate.get('foo')).toBe('1');
        expect(tracestate.get(key), key.slice(0, 20)).toBe('1');
      }
      const over = await single([
        ...tp(unsampled),
        ['tracestate', 'foo=1'],
        ['tracestate', `${'z'.repeat(257)}=1`],
      ]);
      expect(over.tracestate.has('foo')).toBe(false);
    });
  });

  describe('several callbacks (Level 1, advanced)', () => {
    it('gives each callback of a continued trace its own parent-id', async () => {
      const calls = (await send(tp(`00-${TRACE}-${PARENT}-01`), 3)).map(traceContextOf);
      expect(new Set(calls.map((c) => c.traceparent.traceId))).toEqual(new Set([TRACE]));
      expect(new Set(calls.map((c) => c.traceparent.parentId)).size).toBe(3);
    });

    it('gives each callback its own parent-id without a traceparent or with an invalid one', async () => {
      for (const headers of [[], tp(`00-${'0'.repeat(32)}-${PARENT}-01`)] as HeaderLines[]) {
        const calls = (await send(headers, 3)).map(traceContextOf);
        expect(calls.map((c) => c.traceparent.traceId)).not.toContain('0'.repeat(32));
        expect(new Set(calls.map((c) => c.traceparent.parentId)).size).toBe(3);
      }
    });
  });

  describe('trace-flags (Level 2)', () => {
    it('keeps the random flag of the incoming traceparent, and leaves it unset when it was', async () => {
      const random = await single(tp(`00-${TRACE}-${PARENT}-02`));
      expect(random.traceparent.traceId).toBe(TRACE);
      expect(random.traceparent.parentId).not.toBe(PARENT);
      expect(random.traceparent.flags & 0x02).toBe(0x02);
      expect((await single(tp(`00-${TRACE}-${PARENT}-01`))).traceparent.flags & 0x02).toBe(0);
    });

    it('zeroes unknown flags', async () => {
      expect((await single(tp(`00-${TRACE}-${PARENT}-ff`))).traceparent.flags & ~0x03).toBe(0);
    });

    it('sets the random flag on a trace it starts (its trace ids are random)', async () => {
      expect((await single([])).traceparent.flags & 0x02).toBe(0x02);
    });
  });
});
