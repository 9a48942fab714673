import type { TraceState } from '@opentelemetry/api';

/**
 * `tracestate` as the W3C Trace Context spec (Level 2, https://www.w3.org/TR/trace-context-2/) defines it.
 * Sections are cited by their titles in that document.
 *
 * OpenTelemetry's `TraceState` (`@opentelemetry/core` 3.x, and the API's `createTraceState`) does not
 * conform on two points, so this module replaces its parsing:
 * - key grammar ("tracestate Header Field Values", "Key"): `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`
 *   with `@` a plain `keychar`; OpenTelemetry still applies the older `tenant@vendor` shape and drops keys
 *   such as `foo@`, `foo@@bar`, `foo@bar@baz` or one with a 241-character tenant;
 * - invalid headers: OpenTelemetry skips bad members and keeps the first 32; we discard the whole header
 *   ("Processing Model", "A traceparent is Received", step 3: "If the `tracestate` header cannot be parsed
 *   the vendor MAY discard the entire header"), which is what the W3C test suite expects at its strict level.
 * It implements the OpenTelemetry `TraceState` interface, so SDK spans carry it like any other.
 */

/** "Key": `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, `keychar = lcalpha / DIGIT / _ - * / @`. */
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
/** "Value": `value = 0*255(chr) nblk-chr`; `chr = %x20 / nblk-chr`; `nblk-chr` is printable ASCII but `,` `=`. */
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** "list": OWS is spaces and horizontal tabs (RFC 9110 section 5.6.3). */
const OWS = /^[ \t]+|[ \t]+$/g;

/** "tracestate Header Field Values": "There can be a maximum of 32 `list-member`s in a `list`". */
export const MAX_TRACE_STATE_MEMBERS = 32;
/** "tracestate Limits": vendors SHOULD propagate at least 512 characters; we propagate exactly up to that. */
export const MAX_TRACE_STATE_LENGTH = 512;
/** "tracestate Limits": entries longer than this are the first removed when the header must be truncated. */
const LARGE_MEMBER = 128;
/**
 * A received header longer than this is not parsed at all: 32 members of the longest key and value, with
 * generous whitespace, fit well within it, so only a hostile or broken caller exceeds it.
 */
export const MAX_TRACE_STATE_INPUT = 20_000;

type Member = readonly [key: string, value: string];

export class W3cTraceState implements TraceState {
  readonly #members: readonly Member[];

  private constructor(members: readonly Member[]) {
    this.#members = members;
  }

  /**
   * Parses received `tracestate` field values. Several fields (repeated headers, or an array from a
   * carrier) are combined with commas first ("tracestate Header Field Values", RFC 9110 section 5.3).
   * Returns undefined when there is no member to keep: the header is absent, empty, or invalid (then
   * discarded whole: a malformed member, a key or value outside the grammar, or more than 32 members).
   * Duplicate keys keep their first value ("Mutating the tracestate Field": vendors MAY discard duplicate
   * keys). A valid list longer than 512 characters is truncated by whole entries ("tracestate Limits").
   */
  static parse(field: string | readonly string[] | undefined): W3cTraceState | undefined {
    if (field === undefined) return undefined;
    const combined = typeof field === 'string' ? field : field.join(',');
    if (combined.length > MAX_TRACE_STATE_INPUT) return undefined;
    const members: Member[] = [];
    const seen = new Set<string>();
    let count = 0;
    for (const raw of combined.split(',')) {
      // "Empty and whitespace-only list members are allowed."
      const member = raw.replace(OWS, '');
      if (member === '') continue;
      count += 1;
      if (count > MAX_TRACE_STATE_MEMBERS) return undefined;
      const equals = member.indexOf('=');
      if (equals <= 0) return undefined;
      const key = member.slice(0, equals);
      const value = member.slice(equals + 1);
      if (!isValidKey(key) || !isValidValue(value)) return undefined;
      if (seen.has(key)) continue;
      seen.add(key);
      members.push([key, value]);
    }
    return members.length === 0 ? undefined : new W3cTraceState(truncate(members));
  }

  /** Sets `key` at the left of the list ("Mutating the tracestate Field": new and modified keys go first). */
  set(key: string, value: string): W3cTraceState {
    if (!isValidKey(key) || !isValidValue(value)) return this;
    const rest = this.#members.filter(([k]) => k !== key);
    // Past 32 members, "the right-most `list-member` should be removed from the list".
    const first: Member = [key, value];
    const members = [first, ...rest].slice(0, MAX_TRACE_STATE_MEMBERS);
    return new W3cTraceState(truncate(members, 1));
  }

  unset(key: string): W3cTraceState {
    return this.#members.some(([k]) => k === key)
      ? new W3cTraceState(this.#members.filter(([k]) => k !== key))
      : this;
  }

  get(key: string): string | undefined {
    return this.#members.find(([k]) => k === key)?.[1];
  }

  serialize(): string {
    return this.#members.map(([key, value]) => `${key}=${value}`).join(',');
  }
}

export function isValidKey(key: string): boolean {
  return KEY.test(key);
}

export function isValidValue(value: string): boolean {
  return VALUE.test(value);
}

/** The serialized length of a list: members joined by single commas. */
function lengthOf(members: readonly Member[]): number {
  return members.reduce((sum, [k, v], i) => sum + k.length + 1 + v.length + (i > 0 ? 1 : 0), 0);
}

/**
 * "tracestate Limits": truncate whole entries, first those longer than 128 characters, then from the end.
 * The first `keep` entries (one just set) are never removed.
 */
function truncate(members: readonly Member[], keep = 0): Member[] {
  const result = [...members];
  const over = () => lengthOf(result) > MAX_TRACE_STATE_LENGTH;
  for (let i = result.length - 1; i >= keep && over(); i--) {
    const [k, v] = result[i] as Member;
    if (k.length + 1 + v.length > LARGE_MEMBER) result.splice(i, 1);
  }
  while (result.length > keep && over()) result.pop();
  return result;
}
