/**
 * Where a credential may be sent: exact host names or IP addresses (`api.example.com`, `10.0.0.5`,
 * `[fd00::1]`), optionally with a port (`api.example.com:8443`), or `*.example.com` for every subdomain
 * of example.com (not example.com itself). Names are compared as the URL parser writes them (lower case,
 * punycode, canonical IPv4), without a trailing dot. An entry without a port matches any port.
 */
export interface HostPattern {
  /** For `*.example.com`, `.example.com`; otherwise the host itself. */
  host: string;
  wildcard: boolean;
  /** Null: any port. */
  port: number | null;
  /** The entry as configured, for messages. */
  text: string;
}

/** Parses one `hosts` entry; returns why it is invalid as a string. */
export function parseHostPattern(entry: string): HostPattern | string {
  const text = entry.trim();
  if (text === '' || text === '*' || text === '*.')
    return 'must name a host; "*" alone would send the credential anywhere';
  if (/[\s/@?#\\]/.test(text) || text.includes('://')) {
    return 'must be a host name, "*.suffix" or host:port, without scheme, path or user info';
  }
  const wildcard = text.startsWith('*.');
  const rest = wildcard ? text.slice(2) : text;
  if (rest.includes('*')) return 'may use "*" only as its first label ("*.example.com")';
  const split = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(rest);
  if (split === null) return 'must be a host name, "*.suffix" or host:port';
  const port = split[2] === undefined ? null : Number(split[2]);
  if (port !== null && (port < 1 || port > 65535)) return 'has a port outside 1-65535';
  const host = canonicalHost(split[1] ?? '');
  if (host === null) return 'is not a valid host name or IP address';
  if (wildcard) {
    if (host.startsWith('[') || /^\d+(\.\d+){3}$/.test(host)) return 'cannot put "*." before an IP address';
    if (!host.includes('.'))
      return 'is too broad: "*." needs a suffix of two labels or more ("*.example.com")';
    return { host: `.${host}`, wildcard, port, text };
  }
  return { host, wildcard, port, text };
}

/** Whether `url`'s host (and port, when the pattern names one) matches. */
export function hostPatternMatches(pattern: HostPattern, url: URL): boolean {
  const host = stripDot(url.hostname);
  if (pattern.port !== null && pattern.port !== effectivePort(url)) return false;
  if (pattern.wildcard) return host.endsWith(pattern.host) && host.length > pattern.host.length;
  return host === pattern.host;
}

/** `scheme://host:port` of a URL, with the default port spelled out, for messages. */
export function describeOrigin(url: URL): string {
  return `${url.protocol}//${url.hostname}:${effectivePort(url)}`;
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function canonicalHost(host: string): string | null {
  try {
    const url = new URL(`http://${host}/`);
    if (url.hostname === '' || url.port !== '' || url.pathname !== '/') return null;
    return stripDot(url.hostname);
  } catch {
    return null;
  }
}

function stripDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
