import fc from 'fast-check';

/**
 * TEST HELPER: strings mixing ordinary text (any code point) with what Postgres refuses: U+0000 and
 * unpaired surrogates of either half (fast-check's own string units never produce those).
 */
export const hostileString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '😀', '\u202e', '\r\n'),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

/** TEST HELPER: JSON-like values (objects, arrays, numbers, booleans, null) whose strings and keys may be hostile. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.integer(),
    // What JSON can carry: no NaN, infinities or negative zero.
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** TEST HELPER: `depth` levels of alternating arrays and objects around a string, built without recursion. */
export function nestedJson(depth: number, leaf: unknown = 'leaf'): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** TEST HELPER: JSON text of `depth` nested arrays around a string (`[[["leaf"]]]`), for request bodies. */
export function nestedJsonText(depth: number): string {
  return `${'['.repeat(depth)}"leaf"${']'.repeat(depth)}`;
}
