import { inspect } from 'node:util';
import { PermanentNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { parseHostPattern } from './credential-hosts.ts';
import { type CredentialConfig, CredentialStore } from './credentials.ts';

const TENANT_A = '0b0e2f6c-58a4-4d7e-9a43-0f3f1d1a7a01';
const TENANT_B = '5f1c3d2e-7b6a-4c1d-8e9f-a0b1c2d3e4f5';

describe('CredentialStore', () => {
  const store = new CredentialStore({
    crm: { headers: { Authorization: 'Bearer xyz-secret' }, hosts: ['crm.example.com', '*.crm.example.com'] },
    billing: { headers: { 'x-api-key': 'billing-key-123' }, hosts: ['10.0.0.5:8443'], tenants: [TENANT_A] },
  });

  it('grants lower-cased headers, for the hosts it names only', () => {
    const grant = store.grant('crm', { tenantId: TENANT_B });
    expect(grant.headers).toEqual({ authorization: 'Bearer xyz-secret' });
    expect(grant.allows(new URL('https://crm.example.com/x'))).toBe(true);
    expect(grant.allows(new URL('http://CRM.example.com.:8080/x'))).toBe(true);
    expect(grant.allows(new URL('https://eu.crm.example.com/x'))).toBe(true);
    expect(grant.allows(new URL('https://evilcrm.example.com/x'))).toBe(false);
    expect(grant.allows(new URL('https://crm.example.com.evil.example/x'))).toBe(false);
    expect(grant.allows(new URL('https://example.com/x'))).toBe(false);
  });

  it('matches a port when the entry names one (default ports included)', () => {
    const grant = store.grant('billing', { tenantId: TENANT_A });
    expect(grant.allows(new URL('https://10.0.0.5:8443/'))).toBe(true);
    expect(grant.allows(new URL('https://10.0.0.5/'))).toBe(false);
    const web = new CredentialStore({ w: { headers: { a: 'value-1' }, hosts: ['web.example:443'] } }).grant(
      'w',
    );
    expect(web.allows(new URL('https://web.example/'))).toBe(true);
    expect(web.allows(new URL('http://web.example/'))).toBe(false);
  });

  it('refuses tenants outside `tenants` exactly as it refuses unknown names, listing nothing', () => {
    const denied = (() => {
      try {
        store.grant('billing', { tenantId: TENANT_B, nodeId: 'n1' });
      } catch (error) {
        return error as PermanentNodeError;
      }
    })();
    const unknown = (() => {
      try {
        store.grant('erp', { tenantId: TENANT_B, nodeId: 'n1' });
      } catch (error) {
        return error as PermanentNodeError;
      }
    })();
    expect(denied).toBeInstanceOf(PermanentNodeError);
    expect(denied).toMatchObject({ code: 'credential_not_allowed', nodeId: 'n1' });
    expect(unknown).toMatchObject({ code: 'credential_not_allowed', nodeId: 'n1' });
    expect(denied?.message).toBe(unknown?.message.replace('"erp"', '"billing"'));
    for (const message of [denied?.message, unknown?.message]) {
      expect(message).not.toMatch(/crm|billing-key|xyz/);
    }
    expect(() => store.grant('billing')).toThrow(/not available to this tenant/);
  });

  it("names the refused host, not the credential's hosts or values", () => {
    const refusal = store.grant('crm').refusal(new URL('https://evil.example/x'), { nodeId: 'n1' });
    expect(refusal).toMatchObject({
      code: 'credential_not_allowed',
      nodeId: 'n1',
      details: { credential: 'crm', host: 'evil.example' },
    });
    expect(refusal.message).toMatch(/credential "crm" may not be sent to https:\/\/evil\.example:443/);
    expect(refusal.message).not.toMatch(/crm\.example\.com|xyz/);
  });

  it('never prints values', () => {
    expect(JSON.stringify(store)).toBe('{"credentials":["billing","crm"]}');
    expect(inspect(store)).not.toContain('xyz');
    expect(inspect({ nested: store }, { depth: 5 })).not.toContain('xyz');
  });

  it('offers secret values, bare tokens and header names for redaction', () => {
    expect(store.secretValues()).toEqual(['Bearer xyz-secret', 'billing-key-123', 'xyz-secret']);
    expect(store.headerNames()).toEqual(['authorization', 'x-api-key']);
  });

  it('validates the configuration without echoing values', () => {
    const hosts = ['api.example.com'];
    expect(() => new CredentialStore({ crm: { headers: { 'bad header': 'v' }, hosts } })).toThrow(
      /crm\.headers\.bad header/,
    );
    const lineBreak = () => new CredentialStore({ crm: { headers: { a: 'line\nbreak-secret' }, hosts } });
    expect(lineBreak).toThrow(/line breaks/);
    expect(lineBreak).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('break-secret') }),
    );
    expect(() => new CredentialStore({ '1crm': { headers: {}, hosts } })).toThrow(/must start with a letter/);
  });

  it('requires hosts, refuses broad or malformed ones, and takes tenant ids only', () => {
    const make = (entry: unknown) => () =>
      new CredentialStore({
        crm: { headers: { a: 'value-1' }, ...(entry as object) } as unknown as CredentialConfig,
      });
    expect(make({})).toThrow(/crm\.hosts: is required: list the hosts this credential may be sent to/);
    expect(make({ hosts: [] })).toThrow(/crm\.hosts: must name at least one host/);
    expect(make({ hosts: ['*'] })).toThrow(/"\*" alone would send the credential anywhere/);
    expect(make({ hosts: ['*.com'] })).toThrow(/too broad/);
    expect(make({ hosts: ['https://api.example.com'] })).toThrow(/without scheme, path or user info/);
    expect(make({ hosts: ['api.example.com/v1'] })).toThrow(/without scheme, path or user info/);
    expect(make({ hosts: ['api.*.example.com'] })).toThrow(/only as its first label/);
    expect(make({ hosts: ['api.example.com:99999'] })).toThrow(/port outside/);
    expect(make({ hosts: ['*.10.0.0.5'] })).toThrow(/IP address/);
    expect(make({ hosts: ['api.example.com'], tenants: ['acme'] })).toThrow(/tenant id \(a UUID/);
    expect(make({ hosts: ['api.example.com'], tenants: [] })).toThrow(/at least one tenant id/);
    expect(make({ hosts: ['api.example.com'], extra: 1 })).toThrow(/crm/);
  });
});

describe('parseHostPattern', () => {
  it('writes names as the URL parser does', () => {
    expect(parseHostPattern('API.Example.COM.')).toMatchObject({ host: 'api.example.com', port: null });
    expect(parseHostPattern('[::1]:8080')).toMatchObject({ host: '[::1]', port: 8080 });
    expect(parseHostPattern('bücher.example')).toMatchObject({ host: 'xn--bcher-kva.example' });
    expect(parseHostPattern('0x7f.1')).toMatchObject({ host: '127.0.0.1' });
    expect(parseHostPattern('*.Example.com')).toMatchObject({ host: '.example.com', wildcard: true });
  });
});
