import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '@flowtrace/db';

export interface ApiPrincipal {
  apiKeyId: string;
  tenantId: string;
  tenantName: string;
}

/** A key as listings show it: never the key itself, which is not stored. */
export interface ApiKeySummary {
  apiKeyId: string;
  tenantName: string;
  /** The key's public prefix: keys look like `ft_<prefix>_…`. */
  prefix: string;
  label: string | null;
  createdAt: Date;
  revokedAt: Date | null;
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

  /** A tenant's keys, newest first, revoked ones included; empty for an unknown tenant. */
  async list(tenantName: string): Promise<ApiKeySummary[]> {
    const rows = await this.#sql`
      select k.id, t.name as tenant_name, k.key_prefix, k.label, k.created_at, k.revoked_at
      from api_keys k join tenants t on t.id = k.tenant_id
      where t.name = ${tenantName}
      order by k.created_at desc, k.id`;
    return rows.map(toSummary);
  }

  /**
   * Revokes a key (of `tenantName` only, when given): from then on it authenticates nowhere, at the
   * latest once other processes' caches expire (`cacheTtlMs`). Null when there is no such key; a key
   * revoked earlier is returned as it is (revoking is idempotent).
   */
  async revoke(apiKeyId: string, options: { tenantName?: string } = {}): Promise<ApiKeySummary | null> {
    const tenant =
      options.tenantName === undefined ? this.#sql`` : this.#sql`and t.name = ${options.tenantName}`;
    const [row] = await this.#sql`
      with target as (
        select k.id from api_keys k join tenants t on t.id = k.tenant_id
        where k.id = ${apiKeyId} ${tenant}
      ),
      revoked as (
        update api_keys set revoked_at = coalesce(revoked_at, now())
        where id in (select id from target)
        returning id, tenant_id, key_prefix, label, created_at, revoked_at
      )
      select r.id, t.name as tenant_name, r.key_prefix, r.label, r.created_at, r.revoked_at
      from revoked r join tenants t on t.id = r.tenant_id`;
    this.#cache.clear();
    return row ? toSummary(row) : null;
  }
}

function toSummary(row: Record<string, unknown>): ApiKeySummary {
  return {
    apiKeyId: row.id as string,
    tenantName: row.tenant_name as string,
    prefix: row.key_prefix as string,
    label: (row.label as string | null) ?? null,
    createdAt: row.created_at as Date,
    revokedAt: (row.revoked_at as Date | null) ?? null,
  };
}
