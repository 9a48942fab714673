import { describe, expect, it } from 'vitest';
import {
  elapsedMs,
  formatAgo,
  formatCost,
  formatDuration,
  formatJson,
  formatTokens,
  safeHref,
} from './format.ts';

describe('formatting', () => {
  it('formats durations from milliseconds to hours', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(-5)).toBe('—');
    expect(formatDuration(412.4)).toBe('412 ms');
    expect(formatDuration(3_210)).toBe('3.21 s');
    expect(formatDuration(42_000)).toBe('42.0 s');
    expect(formatDuration(125_000)).toBe('2 m 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 m');
  });

  it('formats costs with the digits a sub-cent model call needs', () => {
    expect(formatCost(null)).toBe('—');
    expect(formatCost(0)).toBe('$0.00');
    expect(formatCost(12.345)).toBe('$12.35');
    expect(formatCost(0.0456)).toBe('$0.046');
    expect(formatCost(0.000123)).toBe('$0.00012');
  });

  it('formats token counts with separators', () => {
    expect(formatTokens(1234567)).toBe('1,234,567');
    expect(formatTokens(undefined)).toBe('—');
  });

  it('measures elapsed time, up to now for an open interval', () => {
    expect(elapsedMs('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.500Z')).toBe(1_500);
    expect(elapsedMs('2026-01-01T00:00:00.000Z', null, Date.parse('2026-01-01T00:00:02.000Z'))).toBe(2_000);
    expect(elapsedMs(null, null)).toBeNull();
  });

  it('says how long ago', () => {
    const now = Date.parse('2026-01-01T12:00:00.000Z');
    expect(formatAgo('2026-01-01T11:59:55.000Z', now)).toBe('5 s ago');
    expect(formatAgo('2026-01-01T11:57:00.000Z', now)).toBe('3 min ago');
    expect(formatAgo('2025-12-29T12:00:00.000Z', now)).toBe('3 d ago');
  });

  it('pretty-prints JSON and leaves strings as they are', () => {
    expect(formatJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(formatJson('plain')).toBe('plain');
    expect(formatJson(null)).toBe('null');
  });

  it('links only http(s) URLs', () => {
    expect(safeHref('https://signoz.example.com/trace/abc')).toBe('https://signoz.example.com/trace/abc');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,x')).toBeNull();
    expect(safeHref('')).toBeNull();
  });
});
