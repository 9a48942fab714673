import { inspect } from 'node:util';
import { PermanentNodeError } from '@flowtrace/workflow';
import { describe, expect, it } from 'vitest';
import { CredentialStore, parseCredentialsFromEnv, redactSecrets } from './credentials.ts';

describe('CredentialStore', () => {
  const store = new CredentialStore({ crm: { headers: { Authorization: 'Bearer xyz-secret' } } });

  it('returns lower-cased headers by name', () => {
    expect(store.headersFor('crm')).toEqual({ authorization: 'Bearer xyz-secret' });
    expect(store.names()).toEqual(['crm']);
  });

  it('never prints values', () => {
    expect(JSON.stringify(store)).toBe('{"credentials":["crm"]}');
    expect(inspect(store)).not.toContain('xyz');
    expect(inspect({ nested: store }, { depth: 5 })).not.toContain('xyz');
  });

  it('rejects unknown names with the configured names', () => {
    expect(() => store.headersFor('erp', { nodeId: 'n1' })).toThrow(PermanentNodeError);
    expect(() => store.headersFor('erp')).toThrow(
      /credential "erp" is not configured on this worker \(configured: crm\)/,
    );
    expect(() => new CredentialStore({}).headersFor('erp')).toThrow(/configured: none/);
  });

  it('offers secret values and bare tokens for redaction', () => {
    expect(store.secretValues()).toEqual(['Bearer xyz-secret', 'xyz-secret']);
    expect(redactSecrets('got Bearer xyz-secret and xyz-secret', store.secretValues())).toBe(
      'got [REDACTED] and [REDACTED]',
    );
  });

  it('validates the configuration without echoing values', () => {
    expect(() => new CredentialStore({ crm: { headers: { 'bad header': 'v' } } })).toThrow(
      /crm\.headers\.bad header/,
    );
    expect(() => new CredentialStore({ crm: { headers: { a: 'line\nbreak-secret' } } })).toThrow(
      /line breaks/,
    );
    try {
      new CredentialStore({ crm: { headers: { a: 'line\nbreak-secret' } } });
    } catch (error) {
      expect((error as Error).message).not.toContain('break-secret');
    }
    expect(() => new CredentialStore({ '1crm': { headers: {} } })).toThrow(/must start with a letter/);
  });
});

describe('parseCredentialsFromEnv', () => {
  it('reads FLOWTRACE_CREDENTIALS', () => {
    const store = parseCredentialsFromEnv({
      FLOWTRACE_CREDENTIALS: JSON.stringify({ crm: { headers: { authorization: 'Bearer xyz' } } }),
    });
    expect(store.headersFor('crm')).toEqual({ authorization: 'Bearer xyz' });
  });

  it('treats unset or blank as no credentials', () => {
    expect(parseCredentialsFromEnv({}).names()).toEqual([]);
    expect(parseCredentialsFromEnv({ FLOWTRACE_CREDENTIALS: '  ' }).names()).toEqual([]);
  });

  it('does not quote the text in parse errors', () => {
    expect(() => parseCredentialsFromEnv({ FLOWTRACE_CREDENTIALS: '{"crm": top-secret-value' })).toThrow(
      /^FLOWTRACE_CREDENTIALS is not valid JSON/,
    );
    try {
      parseCredentialsFromEnv({ FLOWTRACE_CREDENTIALS: '{"crm": top-secret-value' });
    } catch (error) {
      expect((error as Error).message).not.toContain('top-secret');
    }
  });
});
