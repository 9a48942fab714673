import { describe, expect, it } from 'vitest';
import { hasV2Dashboards, parseSignozVersion } from './signoz-version.ts';

describe('parseSignozVersion', () => {
  it('reads release versions, with or without the v, and pre-release suffixes', () => {
    expect(parseSignozVersion('v0.138.0')).toEqual({ major: 0, minor: 138, patch: 0 });
    expect(parseSignozVersion('0.134.2')).toEqual({ major: 0, minor: 134, patch: 2 });
    expect(parseSignozVersion('v0.135.0-cloud.5')).toEqual({ major: 0, minor: 135, patch: 0 });
  });

  it('gives up on development builds and anything else', () => {
    for (const raw of ['main-1a2b3c4', '<unset>', '', 'v0.138', 'latest']) {
      expect(parseSignozVersion(raw), raw).toBeUndefined();
    }
  });
});

describe('hasV2Dashboards', () => {
  it('is true from v0.135.0, when the v1 dashboard API started answering 501', () => {
    const at = (raw: string) => hasV2Dashboards(parseSignozVersion(raw) ?? { major: -1, minor: 0, patch: 0 });
    expect(at('v0.134.9')).toBe(false);
    expect(at('v0.135.0')).toBe(true);
    expect(at('v0.138.0')).toBe(true);
    expect(at('v1.0.0')).toBe(true);
    expect(at('v0.99.0')).toBe(false);
  });
});
