import { describe, expect, it } from 'vitest';
import { parseSignozConfig } from './signoz-config.ts';

describe('parseSignozConfig', () => {
  it('needs the URL and the API key to provision, and trims a trailing slash', () => {
    expect(parseSignozConfig({}, { dryRun: false })).toEqual({
      ok: false,
      problems: ['SIGNOZ_URL is not set (e.g. http://localhost:8080)', 'SIGNOZ_API_KEY is not set'],
    });
    expect(
      parseSignozConfig({ SIGNOZ_URL: 'http://localhost:8080/', SIGNOZ_API_KEY: ' key ' }, { dryRun: false }),
    ).toEqual({
      ok: true,
      config: { SIGNOZ_URL: 'http://localhost:8080', SIGNOZ_API_KEY: 'key', SIGNOZ_ALERT_CHANNELS: [] },
    });
  });

  it('needs neither for a dry run', () => {
    expect(parseSignozConfig({}, { dryRun: true })).toMatchObject({ ok: true });
  });

  it('refuses a URL that is not http(s)', () => {
    const result = parseSignozConfig(
      { SIGNOZ_URL: 'localhost:8080', SIGNOZ_API_KEY: 'k' },
      { dryRun: false },
    );
    expect(result).toEqual({
      ok: false,
      problems: ['SIGNOZ_URL must be an http(s) URL such as http://localhost:8080'],
    });
  });

  it('splits SIGNOZ_ALERT_CHANNELS on commas', () => {
    const result = parseSignozConfig(
      { SIGNOZ_ALERT_CHANNELS: 'slack-oncall, pagerduty ,' },
      { dryRun: true },
    );
    expect(result).toMatchObject({
      ok: true,
      config: { SIGNOZ_ALERT_CHANNELS: ['slack-oncall', 'pagerduty'] },
    });
  });
});
