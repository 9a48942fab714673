import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '@flowtrace/db';

export interface ApiPrincipal {
  apiKeyId: string;
  tenantId: string;
  tenantName: string;
}

export interface CreatedApiKey extends ApiPrincipal {
  /** The key itself: shown once, never stored. */
  key: string;
  prefix: string;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Bearer API keys scoped to a tenant. Keys carry 192 random bits, so a SHA-256 of the key is a safe
 * lookup value (no slow hash needed) and only that hash is stored. Successful lookups are cached briefly
 * to keep authentication off the hot path; revocation takes effect within `cacheTtlMs`.
 */
export class ApiKeyStore {
  readonly #sql: Sql;
  readonly #cacheTtlMs: number;
  readonly #cache = new Map<string, { principal: ApiPrincipal; expiresAt: number }>();

  constructor(deps: { sql: Sql }, options: { cacheTtlMs?: number } = {}) {
    this.#sql = deps.sql;
    this.#cacheTtlMs = options.cacheTtlMs ?? 30_000;
  }

  /** Creates an API key for a tenant, creating the tenant on first use. */
  async create(tenantName: string, label?: string): Promise<CreatedApiKey> {
    const prefix = randomBytes(4).toString('hex');
    const key = `ft_${prefix}_${randomBytes(24).toString('base64url')}`;
    const [tenant] = await this.#sql`
      insert into tenants (name) values (${tenantName})
      on conflict (name) do update set name = excluded.name
      returning id, name`;
    if (!tenant) throw new Error(`could not create tenant ${tenantName}`);
    const [row] = await this.#sql`
      insert into api_keys (tenant_id, key_prefix, key_hash, label)
      values (${tenant.id}, ${prefix}, ${hashKey(key)}, ${label ?? null})
      returning id`;
    if (!row) throw new Error('could not create API key');
    return { key, prefix, apiKeyId: row.id, tenantId: tenant.id, tenantName: tenant.name };
  }

  /** The principal a key belongs to; null for an unknown or revoked key. */
  async authenticate(key: string): Promise<ApiPrincipal | null> {
    const hash = hashKey(key);
    const now = Date.now();
    const cached = this.#cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.principal;
    const [row] = await this.#sql`
      select k.id, k.tenant_id, t.name as tenant_name
      from api_keys k join tenants t on t.id = k.tenant_id
      where k.key_hash = ${hash} and k.revoked_at is null`;
    if (!row) {
      this.#cache.delete(hash);
      return null;
    }
    const principal = { apiKeyId: row.id, tenantId: row.tenant_id, tenantName: row.tenant_name };
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(hash, { principal, expiresAt: now + this.#cacheTtlMs });
    return principal;
  }

  async revoke(apiKeyId: string): Promise<boolean> {
    const rows = await this
      .#sql`update api_keys set revoked_at = now() where id = ${apiKeyId} and revoked_at is null returning id`;
    this.#cache.clear();
    return rows.length > 0;
  }
}
