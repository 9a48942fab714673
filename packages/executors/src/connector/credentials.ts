import { inspect } from 'node:util';
import { PermanentNodeError } from '@flowtrace/workflow';
import { z } from 'zod';

/** One named credential: headers added to outbound requests at request time. */
export interface CredentialConfig {
  headers: Record<string, string>;
}

export type CredentialsConfig = Record<string, CredentialConfig>;

const credentialName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter and use only letters, digits, _ . -');
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name');
const headerValue = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks or NUL');
const credentialsSchema = z.record(
  credentialName,
  z.strictObject({ headers: z.record(headerName, headerValue) }),
);

/**
 * Secrets for connectors, from the worker's configuration (never from workflows). Workflows name a
 * credential; its headers are merged into the request at send time. The store never prints its
 * values: `toJSON` and `util.inspect` show names only, and error messages list names, not values.
 */
export class CredentialStore {
  readonly #credentials: ReadonlyMap<string, Readonly<Record<string, string>>>;

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
        Object.fromEntries(Object.entries(c.headers).map(([h, v]) => [h.toLowerCase(), v])),
      ]),
    );
  }

  /** The configured credential names (safe to show). */
  names(): string[] {
    return [...this.#credentials.keys()].sort();
  }

  has(name: string): boolean {
    return this.#credentials.has(name);
  }

  /**
   * The headers of a credential, lower-cased names. Throws `PermanentNodeError('invalid_definition')`
   * naming the credential and listing the configured names when it does not exist.
   */
  headersFor(name: string, where: { nodeId?: string } = {}): Record<string, string> {
    const headers = this.#credentials.get(name);
    if (headers === undefined) {
      const known = this.names();
      throw new PermanentNodeError(
        'invalid_definition',
        `credential "${name}" is not configured on this worker (configured: ${known.length === 0 ? 'none' : known.join(', ')}); add it to FLOWTRACE_CREDENTIALS or fix the workflow`,
        { ...(where.nodeId === undefined ? {} : { nodeId: where.nodeId }), details: { credential: name } },
      );
    }
    return { ...headers };
  }

  /** Every secret value, for redacting text that might echo them (error bodies). */
  secretValues(): string[] {
    const values = [...this.#credentials.values()].flatMap((h) => Object.values(h));
    // `Bearer <token>`: a server may echo the token alone.
    const tokens = values.map((v) => /^\S+\s+(\S+)$/.exec(v)?.[1]).filter((v) => v !== undefined);
    return [...new Set([...values, ...tokens])].filter((v) => v.length >= 4);
  }

  toJSON(): { credentials: string[] } {
    return { credentials: this.names() };
  }

  [inspect.custom](): string {
    return `CredentialStore { ${this.names().join(', ')} }`;
  }
}

/**
 * Reads `FLOWTRACE_CREDENTIALS`: a JSON object `{ "<name>": { "headers": { "<header>": "<value>" } } }`.
 * Unset or empty means no credentials. Parse errors never quote the text (it holds secrets).
 */
export function parseCredentialsFromEnv(env: Readonly<Record<string, string | undefined>>): CredentialStore {
  const raw = env.FLOWTRACE_CREDENTIALS;
  if (raw === undefined || raw.trim() === '') return new CredentialStore({});
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('FLOWTRACE_CREDENTIALS is not valid JSON (expected {"<name>": {"headers": {...}}})');
  }
  try {
    return new CredentialStore(value as CredentialsConfig);
  } catch (error) {
    throw new Error(`FLOWTRACE_CREDENTIALS: ${(error as Error).message}`);
  }
}

/** Replaces every occurrence of a secret in `text`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}
