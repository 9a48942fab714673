import { inspect } from 'node:util';
import { PermanentNodeError } from '@flowtrace/workflow';
import { z } from 'zod';
import {
  describeOrigin,
  type HostPattern,
  hostPatternMatches,
  parseHostPattern,
} from './credential-hosts.ts';

/**
 * One named credential: headers added to outbound requests at request time, to the hosts it names
 * only, for the tenants it names (every tenant when `tenants` is absent).
 */
export interface CredentialConfig {
  headers: Record<string, string>;
  /** `api.example.com`, `api.example.com:8443`, `10.0.0.5`, `[fd00::1]:443` or `*.example.com`. */
  hosts: string[];
  /** Tenant ids (UUIDs) that may use the credential; absent means every tenant. */
  tenants?: string[];
}

export type CredentialsConfig = Record<string, CredentialConfig>;

/** A credential a node may use: its headers, and where they may go. */
export interface CredentialGrant {
  readonly name: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether the request (or a redirect hop) to `url` may carry the headers. */
  allows(url: URL): boolean;
  /** `credential_not_allowed` for a destination outside `hosts`. */
  refusal(url: URL, where?: { nodeId?: string | undefined }): PermanentNodeError;
}

interface StoredCredential {
  headers: Readonly<Record<string, string>>;
  hosts: readonly HostPattern[];
  tenants: ReadonlySet<string> | null;
}

const credentialName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter and use only letters, digits, _ . -');
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name');
const headerValue = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks or NUL');
const hostEntry = z.string().superRefine((entry, ctx) => {
  const parsed = parseHostPattern(entry);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `"${entry}" ${parsed}` });
});
const credentialSchema = z.strictObject({
  headers: z.record(headerName, headerValue),
  hosts: z
    .array(hostEntry, {
      error: (issue) =>
        issue.input === undefined
          ? 'is required: list the hosts this credential may be sent to, e.g. ["api.example.com", "*.example.com", "10.0.0.5:8443"]'
          : 'must be an array of host names',
    })
    .min(1, 'must name at least one host'),
  tenants: z
    .array(
      z.uuid({ error: 'must be a tenant id (a UUID, as `npm run apikey -- --tenant <name> --json` prints)' }),
    )
    .min(1, 'must name at least one tenant id, or be left out to allow every tenant')
    .optional(),
});
const credentialsSchema = z.record(credentialName, credentialSchema);

/**
 * Secrets for connectors and HTTP tools, from the worker's configuration (never from workflows).
 * Workflows name a credential; its headers are added at send time when the tenant may use it and the
 * request's host (every redirect hop included) is one of its `hosts`. The store never prints its values,
 * and its errors never list other credentials: `toJSON` and `util.inspect` show names only (for
 * operators' logs), node errors name only the credential the workflow asked for.
 */
export class CredentialStore {
  readonly #credentials: ReadonlyMap<string, StoredCredential>;

  constructor(config: CredentialsConfig = {}) {
    const parsed = credentialsSchema.safeParse(config);
    if (!parsed.success) {
      // Issue paths name credentials and headers; zod does not echo input values.
      const issues = parsed.error.issues
        .map((i) => {
          // A bad record key nests the key's own issues (e.g. the name pattern) under `invalid_key`.
          const inner = i.code === 'invalid_key' ? i.issues.map((n) => n.message).join(', ') : i.message;
          return `${i.path.join('.') || '(root)'}: ${inner}`;
        })
        .join('; ');
      throw new Error(`invalid credentials configuration: ${issues}`);
    }
    this.#credentials = new Map(
      Object.entries(parsed.data).map(([name, c]) => [
        name,
        {
          headers: Object.fromEntries(Object.entries(c.headers).map(([h, v]) => [h.toLowerCase(), v])),
          hosts: c.hosts.map((h) => parseHostPattern(h) as HostPattern),
          tenants: c.tenants === undefined ? null : new Set(c.tenants.map((t) => t.toLowerCase())),
        },
      ]),
    );
  }

  /** The configured credential names, for operators (startup logs); never put in node errors. */
  names(): string[] {
    return [...this.#credentials.keys()].sort();
  }

  has(name: string): boolean {
    return this.#credentials.has(name);
  }

  /**
   * The credential `name` for a node of `tenantId`. An unknown name and a credential the tenant may not
   * use fail alike (`credential_not_allowed`, naming only what was asked for), so that a tenant learns
   * nothing about other tenants' credentials.
   */
  grant(
    name: string,
    where: { tenantId?: string | undefined; nodeId?: string | undefined } = {},
  ): CredentialGrant {
    const stored = this.#credentials.get(name);
    const tenantOk =
      stored !== undefined &&
      (stored.tenants === null ||
        (where.tenantId !== undefined && stored.tenants.has(where.tenantId.toLowerCase())));
    if (stored === undefined || !tenantOk) {
      throw new PermanentNodeError(
        'credential_not_allowed',
        `credential "${name}" is not available to this tenant on this worker; ask the operator to configure it in FLOWTRACE_CREDENTIALS for this tenant, or fix the workflow`,
        { nodeId: where.nodeId, details: { credential: name } },
      );
    }
    return {
      name,
      headers: { ...stored.headers },
      allows: (url) => stored.hosts.some((pattern) => hostPatternMatches(pattern, url)),
      refusal: (url, at = where) =>
        new PermanentNodeError(
          'credential_not_allowed',
          `credential "${name}" may not be sent to ${describeOrigin(url)}: that host is not among its hosts; point the request at one of them, or ask the operator to add it`,
          {
            nodeId: at.nodeId,
            details: { credential: name, host: url.hostname },
          },
        ),
    };
  }

  /** Every secret value, for redaction: header values, and the token of `<scheme> <token>` values. */
  secretValues(): string[] {
    const values = [...this.#credentials.values()].flatMap((c) => Object.values(c.headers));
    // `Bearer <token>`: a server may echo the token alone.
    const tokens = values.map((v) => /^\S+\s+(\S+)$/.exec(v)?.[1]).filter((v) => v !== undefined);
    return [...new Set([...values, ...tokens])].filter((v) => v.length >= 4);
  }

  /** Lower-cased names of every credential header: values under these keys are redacted from outputs. */
  headerNames(): string[] {
    return [...new Set([...this.#credentials.values()].flatMap((c) => Object.keys(c.headers)))].sort();
  }

  toJSON(): { credentials: string[] } {
    return { credentials: this.names() };
  }

  [inspect.custom](): string {
    return `CredentialStore { ${this.names().join(', ')} }`;
  }
}
