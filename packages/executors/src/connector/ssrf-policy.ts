import { isIP, isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which outbound destinations a connector may reach. Everything public is allowed; loopback, private,
 * link-local (cloud metadata), unique-local, unspecified, CGNAT, multicast and reserved addresses are
 * refused, as are IPv6 forms that embed such an IPv4 address, unless the host or the address is
 * allow-listed. Checks run on resolved addresses, never on the name alone.
 */
export interface SsrfPolicyOptions {
  /**
   * Host names (or IP literals) that may be reached whatever they resolve to. Case-insensitive exact
   * matches; an entry `*.example.com` matches every subdomain of example.com (not example.com itself).
   */
  allowedHosts?: readonly string[];
  /** Address ranges that may be reached, e.g. `10.1.0.0/16`, `127.0.0.1/32`, `fd00::/8`; a bare address means a single host. */
  allowedCidrs?: readonly string[];
}

/** Why a destination was refused. `rule` names the range or rule, `cidr` the range when there is one. */
export interface SsrfRefusal {
  hostname: string;
  address: string | null;
  rule: string;
  cidr: string | null;
}

/** Thrown inside the HTTP stack when a destination is refused; the client turns it into `connector_blocked`. */
export class SsrfBlockedError extends Error {
  readonly refusal: SsrfRefusal;
  constructor(refusal: SsrfRefusal) {
    super(describeRefusal(refusal));
    this.name = 'SsrfBlockedError';
    this.refusal = refusal;
  }
}

export function describeRefusal(r: SsrfRefusal): string {
  const where =
    r.address === null || r.address === r.hostname ? `"${r.hostname}"` : `"${r.hostname}" (${r.address})`;
  const range = r.cidr === null ? '' : ` ${r.cidr}`;
  return `outbound request to ${where} refused: ${r.rule}${range} is not allowed; allow-list the host or range in FLOWTRACE_CONNECTOR_ALLOWED_HOSTS / FLOWTRACE_CONNECTOR_ALLOWED_CIDRS if this is intended`;
}

/**
 * Addresses and ranges are ipaddr.js values: it parses both families (an IPv4 tail in IPv6 included),
 * matches prefixes and exposes an IPv6 address's groups, from which an embedded IPv4 address is read.
 * Node's `net.BlockList` only answers whether an address is in a list: it can neither say which rule
 * matched, which the refusal names, nor give the IPv4 address inside a NAT64 or 6to4 address.
 */
type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

interface Cidr {
  range: [IpAddress, number];
  text: string;
}

interface Rule extends Cidr {
  name: string;
}

/** Host names that reach cloud metadata services or the local machine by name. */
const BLOCKED_HOSTNAMES = new Map<string, string>([
  ['metadata.google.internal', 'cloud metadata host name'],
  ['metadata.goog', 'cloud metadata host name'],
  ['metadata', 'cloud metadata host name'],
  ['metadata.azure.internal', 'cloud metadata host name'],
  ['instance-data', 'cloud metadata host name'],
  ['instance-data.ec2.internal', 'cloud metadata host name'],
  ['localhost', 'loopback host name'],
]);

const IPV4_RULES: readonly Rule[] = [
  rule('0.0.0.0/8', 'unspecified address range'),
  rule('10.0.0.0/8', 'private range (RFC 1918)'),
  rule('100.64.0.0/10', 'carrier-grade NAT range (RFC 6598)'),
  rule('127.0.0.0/8', 'loopback range'),
  rule('169.254.0.0/16', 'link-local range (incl. cloud metadata 169.254.169.254)'),
  rule('172.16.0.0/12', 'private range (RFC 1918)'),
  rule('192.0.0.0/24', 'IETF protocol assignment range'),
  rule('192.168.0.0/16', 'private range (RFC 1918)'),
  rule('198.18.0.0/15', 'benchmarking range'),
  rule('224.0.0.0/4', 'multicast range'),
  rule('240.0.0.0/4', 'reserved range (incl. broadcast 255.255.255.255)'),
];

const IPV6_RULES: readonly Rule[] = [
  rule('::/128', 'unspecified address'),
  rule('::1/128', 'loopback address'),
  rule('64:ff9b:1::/48', 'local-use NAT64 range'),
  rule('100::/64', 'discard-only range'),
  rule('fc00::/7', 'unique-local range'),
  rule('fe80::/10', 'link-local range'),
  rule('fec0::/10', 'site-local range (deprecated)'),
  rule('ff00::/8', 'multicast range'),
];

/** The IPv4 address in two 16-bit groups of an IPv6 address. */
function ipv4In(address: ipaddr.IPv6, high: number): ipaddr.IPv4 {
  const [a = 0, b = 0] = [address.parts[high], address.parts[high + 1]];
  return new ipaddr.IPv4([a >> 8, a & 0xff, b >> 8, b & 0xff]);
}

/** IPv6 ranges that carry an IPv4 address; the embedded address is checked against the IPv4 rules. */
const EMBEDDED_IPV4: readonly { cidr: Cidr; name: string; ipv4: (address: ipaddr.IPv6) => ipaddr.IPv4 }[] = [
  { cidr: parseCidr('::ffff:0:0/96'), name: 'IPv4-mapped IPv6 address', ipv4: (a) => ipv4In(a, 6) },
  { cidr: parseCidr('::/96'), name: 'IPv4-compatible IPv6 address', ipv4: (a) => ipv4In(a, 6) },
  { cidr: parseCidr('64:ff9b::/96'), name: 'NAT64 IPv6 address', ipv4: (a) => ipv4In(a, 6) },
  // 2002:AABB:CCDD::/48 carries AA.BB.CC.DD in its second and third groups.
  { cidr: parseCidr('2002::/16'), name: '6to4 IPv6 address', ipv4: (a) => ipv4In(a, 1) },
];

function rule(cidr: string, name: string): Rule {
  return { ...parseCidr(cidr), name };
}

export class SsrfPolicy {
  readonly #exactHosts: Set<string>;
  readonly #wildcardSuffixes: string[];
  readonly #allowedCidrs: Cidr[];

  constructor(options: SsrfPolicyOptions = {}) {
    this.#exactHosts = new Set();
    this.#wildcardSuffixes = [];
    for (const raw of options.allowedHosts ?? []) {
      const host = normalizeHostname(raw);
      if (host.length === 0) continue;
      if (host.startsWith('*.')) this.#wildcardSuffixes.push(host.slice(1));
      else this.#exactHosts.add(host);
    }
    this.#allowedCidrs = (options.allowedCidrs ?? []).map((c) => parseCidr(c));
  }

  /** Whether the host name itself is allow-listed (then any address it resolves to may be reached). */
  isHostAllowed(hostname: string): boolean {
    const host = normalizeHostname(hostname);
    if (this.#exactHosts.has(host)) return true;
    return this.#wildcardSuffixes.some((suffix) => host.endsWith(suffix) && host.length > suffix.length);
  }

  /**
   * Checks what can be decided from the name alone: allow-listed names, blocked names, IP literals.
   * Returns `'resolve'` when the name must be resolved and each address checked with `checkAddress`.
   */
  checkHostname(hostname: string): SsrfRefusal | 'allowed' | 'resolve' {
    const host = normalizeHostname(hostname);
    if (this.isHostAllowed(host)) return 'allowed';
    if (isIP(host) !== 0) return this.checkAddress(host, host) ?? 'allowed';
    const named =
      BLOCKED_HOSTNAMES.get(host) ?? (host.endsWith('.localhost') ? 'loopback host name' : undefined);
    if (named !== undefined) return { hostname: host, address: null, rule: named, cidr: null };
    return 'resolve';
  }

  /** Checks one resolved address; null when it may be reached. */
  checkAddress(address: string, hostname: string): SsrfRefusal | null {
    const host = normalizeHostname(hostname);
    if (this.isHostAllowed(host)) return null;
    const parsed = parseAddress(address);
    if (parsed === null) {
      return { hostname: host, address, rule: 'unparseable address', cidr: null };
    }
    if (this.#isCidrAllowed(parsed)) return null;
    if (parsed instanceof ipaddr.IPv4) {
      const hit = matchRule(IPV4_RULES, parsed);
      return hit === null ? null : { hostname: host, address, rule: hit.name, cidr: hit.text };
    }
    const hit6 = matchRule(IPV6_RULES, parsed);
    if (hit6 !== null) return { hostname: host, address, rule: hit6.name, cidr: hit6.text };
    for (const embedded of EMBEDDED_IPV4) {
      if (!inCidr(embedded.cidr, parsed)) continue;
      const v4 = embedded.ipv4(parsed);
      if (this.#isCidrAllowed(v4)) return null;
      const hit = matchRule(IPV4_RULES, v4);
      if (hit !== null) {
        return {
          hostname: host,
          address,
          rule: `${embedded.name} of ${v4.toString()} in the ${hit.name}`,
          cidr: hit.text,
        };
      }
    }
    return null;
  }

  #isCidrAllowed(address: IpAddress): boolean {
    return this.#allowedCidrs.some((c) => inCidr(c, address));
  }
}

/** Lower-cases, strips IPv6 brackets, a zone id and a trailing dot. */
export function normalizeHostname(hostname: string): string {
  let host = hostname.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

function matchRule(rules: readonly Rule[], address: IpAddress): Rule | null {
  return rules.find((r) => inCidr(r, address)) ?? null;
}

/** Whether the address is in the range; an address of the other family never is. */
function inCidr(cidr: Cidr, address: IpAddress): boolean {
  return cidr.range[0].kind() === address.kind() && address.match(cidr.range);
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a single host). */
export function parseCidr(text: string): Cidr {
  const [addressPart, bitsPart, extra] = text.trim().split('/');
  const parsed = parseAddress(addressPart ?? '');
  if (parsed === null || extra !== undefined) throw new Error(`"${text}" is not an IP address or CIDR range`);
  const width = parsed.kind() === 'ipv4' ? 32 : 128;
  const bits = bitsPart === undefined ? width : Number(bitsPart);
  if (
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > width ||
    (bitsPart !== undefined && !/^\d+$/.test(bitsPart))
  ) {
    throw new Error(`"${text}" has an invalid prefix length (0-${width})`);
  }
  return { range: [parsed, bits], text: text.trim() };
}

/**
 * Parses a dotted-quad IPv4 or an IPv6 address (zone id ignored). Node's `isIPv4` / `isIPv6` decide what
 * is an address: ipaddr.js alone would also take the legacy forms (`0x7f.1`, `2130706433`), which the
 * URL parser normalises to dotted quads before they get here.
 */
export function parseAddress(text: string): IpAddress | null {
  const address = normalizeHostname(text).split('%')[0] ?? '';
  return isIPv4(address) || isIPv6(address) ? ipaddr.parse(address) : null;
}
