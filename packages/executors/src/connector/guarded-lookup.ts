import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { normalizeHostname, SsrfBlockedError, type SsrfPolicy } from './ssrf-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has. Injectable so tests can map names to addresses. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * A socket `lookup` that resolves with `resolve` and checks EVERY resolved address against the policy
 * before handing them to the socket, so the socket connects to an address that was checked (no
 * time-of-check/time-of-use gap, no DNS rebinding). A refused address fails the lookup with an
 * `SsrfBlockedError`.
 */
export function guardedLookup(policy: SsrfPolicy, resolve: HostResolver): LookupFunction {
  const resolveChecked = async (hostname: string): Promise<ResolvedAddress[]> => {
    const addresses = await resolve(hostname);
    if (addresses.length === 0) throw notFound(hostname);
    for (const { address } of addresses) {
      const refusal = policy.checkAddress(address, hostname);
      if (refusal !== null) throw new SsrfBlockedError(refusal);
    }
    return addresses;
  };
  return (hostname, options, callback) => {
    resolveChecked(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
        if (options.all) {
          callback(null, usable);
          return;
        }
        const first = usable[0];
        if (first === undefined) callback(notFound(hostname), '', 0);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** The system resolver: `dns.lookup` with `all: true`, in the order the system returns. */
export async function systemResolver(hostname: string): Promise<ResolvedAddress[]> {
  const results = await dnsLookup(normalizeHostname(hostname), { all: true, verbatim: true });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
}

function notFound(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  error.code = 'ENOTFOUND';
  return error;
}
