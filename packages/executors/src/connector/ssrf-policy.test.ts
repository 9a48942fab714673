import { describe, expect, it } from 'vitest';
import { parseAddress, parseCidr, SsrfPolicy } from './ssrf-policy.ts';

describe('SsrfPolicy.checkAddress', () => {
  const policy = new SsrfPolicy();
  const blocked = [
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '0.1.2.3',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
  ];
  for (const address of blocked) {
    it(`blocks ${address}`, () => {
      // Refused by a range rule (an address the parser could not read would be refused too, by another rule).
      expect(policy.checkAddress(address, 'example.test')).toMatchObject({
        hostname: 'example.test',
        address,
        cidr: expect.stringMatching(/\/\d+$/),
      });
    });
  }

  const allowed = [
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '2002:0808:0808::',
  ];
  for (const address of allowed) {
    it(`allows ${address}`, () => {
      expect(policy.checkAddress(address, 'example.test')).toBeNull();
    });
  }

  it('names the rule and range', () => {
    expect(policy.checkAddress('169.254.169.254', 'metadata.test')).toEqual({
      hostname: 'metadata.test',
      address: '169.254.169.254',
      rule: 'link-local range (incl. cloud metadata 169.254.169.254)',
      cidr: '169.254.0.0/16',
    });
    expect(policy.checkAddress('::ffff:10.0.0.1', 'x.test')?.rule).toBe(
      'IPv4-mapped IPv6 address of 10.0.0.1 in the private range (RFC 1918)',
    );
  });

  it('refuses what it cannot parse', () => {
    expect(policy.checkAddress('not-an-ip', 'x.test')?.rule).toBe('unparseable address');
  });
});

describe('SsrfPolicy allow-lists', () => {
  it('allows allow-listed CIDRs, including their IPv4-mapped forms', () => {
    const policy = new SsrfPolicy({ allowedCidrs: ['10.1.0.0/16', '::1'] });
    expect(policy.checkAddress('10.1.2.3', 'a')).toBeNull();
    expect(policy.checkAddress('::ffff:10.1.2.3', 'a')).toBeNull();
    expect(policy.checkAddress('10.2.0.1', 'a')).toMatchObject({ cidr: '10.0.0.0/8' });
    expect(policy.checkAddress('::1', 'a')).toBeNull();
  });

  it('allows allow-listed hosts whatever they resolve to, with wildcard subdomains', () => {
    const policy = new SsrfPolicy({ allowedHosts: ['Internal.Example.com', '*.svc.cluster.local'] });
    expect(policy.checkAddress('10.0.0.1', 'internal.example.com.')).toBeNull();
    expect(policy.checkAddress('10.0.0.1', 'api.svc.cluster.local')).toBeNull();
    for (const hostname of ['svc.cluster.local', 'evil-svc.cluster.local'])
      expect(policy.checkAddress('10.0.0.1', hostname)).toEqual({
        hostname,
        address: '10.0.0.1',
        rule: 'private range (RFC 1918)',
        cidr: '10.0.0.0/8',
      });
  });
});

describe('SsrfPolicy.checkHostname', () => {
  const policy = new SsrfPolicy({ allowedHosts: ['metadata.google.internal.allowed.test'] });
  it('decides IP literals and blocked names without resolving', () => {
    expect(policy.checkHostname('[::1]')).toMatchObject({ rule: 'loopback address' });
    expect(policy.checkHostname('8.8.8.8')).toBe('allowed');
    expect(policy.checkHostname('metadata.google.internal')).toMatchObject({
      rule: 'cloud metadata host name',
    });
    expect(policy.checkHostname('METADATA.GOOGLE.INTERNAL.')).toMatchObject({
      rule: 'cloud metadata host name',
    });
    expect(policy.checkHostname('localhost')).toMatchObject({ rule: 'loopback host name' });
    expect(policy.checkHostname('a.localhost')).toMatchObject({ rule: 'loopback host name' });
    expect(policy.checkHostname('example.com')).toBe('resolve');
    expect(policy.checkHostname('metadata.google.internal.allowed.test')).toBe('allowed');
  });
});

describe('parsing', () => {
  it('parses addresses and CIDRs', () => {
    expect(parseAddress('1.2.3.4')?.toByteArray()).toEqual([1, 2, 3, 4]);
    expect(parseAddress('::ffff:1.2.3.4')?.toNormalizedString()).toBe(
      parseAddress('::ffff:102:304')?.toNormalizedString(),
    );
    expect(parseAddress('[2001:DB8::1%eth0]')?.toNormalizedString()).toBe('2001:db8:0:0:0:0:0:1');
    // Only what the URL parser leaves: legacy IPv4 forms are not addresses here.
    expect(parseAddress('0x7f.1')).toBeNull();
    expect(parseAddress('2130706433')).toBeNull();
    expect(parseAddress('010.0.0.1')).toBeNull();
    expect(parseCidr('10.0.0.0/8').range[1]).toBe(8);
    expect(parseCidr('::1').range[1]).toBe(128);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => parseCidr('nope/8')).toThrow(/not an IP address/);
    expect(() => parseCidr('10.0.0.0/8/1')).toThrow();
  });
});
