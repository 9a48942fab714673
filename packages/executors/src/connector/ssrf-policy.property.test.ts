import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SsrfPolicy } from './ssrf-policy.ts';

/**
 * The SSRF policy checked against an independent oracle: the refused IPv4 ranges written out as
 * [first, last] integers, every IPv4 spelling the URL parser accepts, and the IPv6 forms that embed an
 * IPv4 address.
 */
const V4_REFUSED: readonly [number, number][] = [
  ['0.0.0.0', '0.255.255.255'],
  ['10.0.0.0', '10.255.255.255'],
  ['100.64.0.0', '100.127.255.255'],
  ['127.0.0.0', '127.255.255.255'],
  ['169.254.0.0', '169.254.255.255'],
  ['172.16.0.0', '172.31.255.255'],
  ['192.0.0.0', '192.0.0.255'],
  ['192.168.0.0', '192.168.255.255'],
  ['198.18.0.0', '198.19.255.255'],
  ['224.0.0.0', '255.255.255.255'],
].map(([a, b]) => [toInt(a as string), toInt(b as string)] as [number, number]);

function toInt(dotted: string): number {
  return dotted.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}
function dotted(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}
const refusedV4 = (n: number) => V4_REFUSED.some(([a, b]) => n >= a && n <= b);

/** Any IPv4 address, half of them drawn inside a refused range. */
const anyV4 = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.constantFrom(...V4_REFUSED).chain(([a, b]) => fc.integer({ min: a, max: b })),
  fc
    .constantFrom(...V4_REFUSED)
    .chain(([a, b]) => fc.constantFrom(a, b, Math.max(0, a - 1), Math.min(2 ** 32 - 1, b + 1))),
);

/** Ways to write one IPv4 address that WHATWG URL parsers accept as a host. */
function spellings(n: number): string[] {
  const octets = dotted(n).split('.').map(Number) as [number, number, number, number];
  const [a, b, c, d] = octets;
  return [
    dotted(n),
    String(n),
    `0x${n.toString(16)}`,
    `0x${n.toString(16).toUpperCase()}`,
    octets.map((o) => `0x${o.toString(16)}`).join('.'),
    octets.map((o) => `0${o.toString(8)}`).join('.'),
    `${a}.${b}.${c * 256 + d}`,
    `${a}.${b * 65536 + c * 256 + d}`,
    `${dotted(n)}.`,
  ];
}

function hex4(n: number): string {
  return Math.floor(n / 65536).toString(16) + ':' + (n % 65536).toString(16);
}

/** IPv6 forms carrying an IPv4 address, with the rule that decides them. */
function embeddings(n: number): string[] {
  const v4 = dotted(n);
  const sixToFour = `2002:${hex4(n)}::1`;
  return [`::ffff:${v4}`, `::ffff:${hex4(n)}`, `::${v4}`, `64:ff9b::${v4}`, `64:ff9b::${hex4(n)}`, sixToFour];
}

describe('SSRF policy (property-based)', () => {
  const policy = new SsrfPolicy();

  it('refuses exactly the refused IPv4 ranges', () => {
    fc.assert(
      fc.property(anyV4, (n) => {
        expect(policy.checkAddress(dotted(n), dotted(n)) !== null).toBe(refusedV4(n));
      }),
      { numRuns: 5_000 },
    );
  });

  it('decides every spelling of an IPv4 host the way it decides the address', () => {
    fc.assert(
      fc.property(anyV4, (n) => {
        for (const spelling of spellings(n)) {
          // What the guarded client checks: the host as the URL parser normalises it.
          const host = new URL(`http://${spelling}/`).hostname;
          expect(host, spelling).toBe(dotted(n));
          const verdict = policy.checkHostname(host);
          expect(typeof verdict === 'object', spelling).toBe(refusedV4(n));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('decides IPv6 forms that embed an IPv4 address by that address, in any case or compression', () => {
    fc.assert(
      fc.property(anyV4, fc.boolean(), (n, upper) => {
        for (const form of embeddings(n)) {
          const written = upper ? form.toUpperCase() : form;
          const host = new URL(`http://[${written}]/`).hostname;
          expect(policy.checkAddress(written, written) !== null, written).toBe(refusedV4(n));
          expect(typeof policy.checkHostname(host) === 'object', host).toBe(refusedV4(n));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses every address of the local IPv6 ranges', () => {
    const ranges: [string, number][] = [
      ['fc00::', 7],
      ['fe80::', 10],
      ['fec0::', 10],
      ['ff00::', 8],
      ['::1', 128],
      ['::', 128],
    ];
    const toBig = (address: string) => {
      const url = new URL(`http://[${address}]/`).hostname.slice(1, -1);
      const [head = '', tail = ''] = url.split('::');
      const h = head === '' ? [] : head.split(':');
      const t = tail === '' ? [] : tail.split(':');
      const groups = url.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
      return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
    };
    const format = (value: bigint) =>
      Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
    fc.assert(
      fc.property(
        fc.constantFrom(...ranges),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        ([base, bits], noise) => {
          const hostBits = 128n - BigInt(bits);
          const mask = hostBits === 0n ? 0n : (1n << hostBits) - 1n;
          const address = format((toBig(base) & ~mask) | (noise & mask));
          expect(policy.checkAddress(address, address), address).toMatchObject({
            address,
            cidr: expect.stringMatching(/\/\d+$/),
          });
          expect(typeof policy.checkHostname(`[${address}]`), address).toBe('object');
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('lets an allow-listed range through and nothing next to it', () => {
    const allowed = new SsrfPolicy({ allowedCidrs: ['10.1.0.0/16'] });
    fc.assert(
      fc.property(fc.integer({ min: toInt('10.0.0.0'), max: toInt('10.255.255.255') }), (n) => {
        const inside = n >= toInt('10.1.0.0') && n <= toInt('10.1.255.255');
        expect(allowed.checkAddress(dotted(n), 'h') === null).toBe(inside);
      }),
      { numRuns: 2_000 },
    );
  });

  it('matches "*.suffix" host allow-list entries on subdomains only', () => {
    const allowed = new SsrfPolicy({ allowedHosts: ['*.internal.example'] });
    const label = fc.stringMatching(/^[a-z0-9-]{1,10}$/);
    fc.assert(
      fc.property(label, fc.constantFrom('', '.', 'x', '-'), (sub, glue) => {
        expect(allowed.isHostAllowed(`${sub}.internal.example`)).toBe(true);
        expect(allowed.isHostAllowed(`${sub}.internal.example.`)).toBe(true);
        expect(allowed.isHostAllowed(`${sub}${glue === '.' ? 'x' : glue}internal.example`)).toBe(false);
        expect(allowed.isHostAllowed(`${sub}.internal.example.${sub}`)).toBe(false);
        expect(allowed.isHostAllowed('internal.example')).toBe(false);
      }),
      { numRuns: 1_000 },
    );
  });
});
