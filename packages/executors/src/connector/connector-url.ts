import { PermanentNodeError } from '@flowtrace/workflow';

/** Parses an absolute URL, or fails the node with a message that quotes (a bounded part of) the input. */
export function parseUrl(input: string | URL): URL {
  try {
    return new URL(input);
  } catch {
    throw new PermanentNodeError(
      'connector_error',
      `"${truncate(String(input), 200)}" is not an absolute URL`,
    );
  }
}

/** The URL without query string or user info, for messages: queries often carry tokens. */
export function redactUrl(input: string | URL): string {
  try {
    const url = new URL(input);
    return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`;
  } catch {
    return truncate(String(input), 200);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
