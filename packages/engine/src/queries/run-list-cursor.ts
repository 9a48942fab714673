/** Where a page of runs ended: the last run's creation time and id (runs are listed newest first). */
export interface RunListCursor {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An opaque cursor: clients pass back what they were given and never build one. */
export function encodeRunListCursor(cursor: RunListCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.createdAt.toISOString(), i: cursor.id })).toString(
    'base64url',
  );
}

/** The position a cursor stands for, or null when it is not one this API issued. */
export function decodeRunListCursor(raw: string): RunListCursor | null {
  if (raw.length > 200) return null;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { t?: unknown; i?: unknown };
    if (typeof value.t !== 'string' || typeof value.i !== 'string' || !UUID.test(value.i)) return null;
    const createdAt = new Date(value.t);
    if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== value.t) return null;
    return { createdAt, id: value.i };
  } catch {
    return null;
  }
}
