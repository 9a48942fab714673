import { FlowtraceError } from '../errors/flowtrace-error.ts';
import { renderTemplate, type TemplateScope } from './template.ts';

/**
 * URL templates. The scheme, host and port of a URL come from the template's static text alone:
 * placeholders may fill the path, the query or the fragment, and every value is percent-encoded where
 * it lands, so that no run input, upstream output or model argument can move a request (and the
 * credential attached to it) to another port, host or scheme, add a path segment, a query parameter or
 * a fragment, or climb the path with `..`.
 *
 * A template is safe when, before its first `{`, it spells `http://` or `https://`, an authority
 * (host, optionally `:port`, no user info) and the `/`, `?` or `#` that ends that authority. Such a
 * template is accepted at registration; any other is refused there (`urlTemplateProblem`), and refused
 * again at render time for definitions stored before the rule existed.
 */

/** Scheme, authority (no user info, braces, backslashes or whitespace), then the authority's end. */
const SAFE_PREFIX = /^(https?):\/\/([^/?#\\@{}\s]+)[/?#]/i;
/** A template without any placeholder may also be a bare origin (`https://api.example.com`). */
const BARE_ORIGIN = /^(https?):\/\/([^/?#\\@{}\s]+)$/i;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
/** Path segments that the URL parser resolves (`.`, `..`, and their `%2e` spellings). */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

type UrlPart = 'path' | 'query' | 'fragment';

/** Why a URL template could change the request's origin; null when it cannot. */
export function urlTemplateProblem(template: string): string | null {
  const text = template.trimStart();
  const firstBrace = text.search(/[{}]/);
  const staticPrefix = firstBrace === -1 ? text : text.slice(0, firstBrace);
  const match =
    SAFE_PREFIX.exec(staticPrefix) ?? (firstBrace === -1 ? BARE_ORIGIN.exec(text.trimEnd()) : null);
  if (match === null) {
    if (!/^https?:\/\//i.test(staticPrefix)) {
      return 'must start with a fixed http:// or https:// scheme and host (a placeholder may not supply them)';
    }
    if (/^https?:\/\/[^/?#]*@/i.test(staticPrefix)) {
      return 'must not carry user info (user:password@); use a named credential instead';
    }
    return 'must spell out its host (and port) and end them with "/", "?" or "#" before the first placeholder, so that no value can change the host or port';
  }
  const origin = originOf(match[1] ?? '', match[2] ?? '');
  if (origin === null) return `has an invalid host "${match[2]}"`;
  return null;
}

/**
 * Throws `invalid_definition` when the template could change its URL's origin. `field` names the
 * setting in the message (`config.url`, `config.tools[0].url`).
 */
export function assertUrlTemplate(
  template: string,
  where: { nodeId?: string | undefined; field?: string | undefined } = {},
): void {
  const problem = urlTemplateProblem(template);
  if (problem === null) return;
  const node = where.nodeId === undefined ? '' : `node "${where.nodeId}": `;
  const field = where.field ?? 'url';
  throw new FlowtraceError(
    'invalid_definition',
    `${node}${field} "${truncate(template, 120)}" ${problem} (put values in the path, the query or "query")`,
    { nodeId: where.nodeId, details: { field } },
  );
}

/**
 * Renders a URL template: static text as written, each placeholder's value percent-encoded
 * (`encodeURIComponent`), so that it stays inside the path segment, query value or fragment where it
 * stands. Throws `invalid_definition` for a template that could change the origin,
 * `template_variable_missing` for a missing variable, and `invalid_input` when a value would make a
 * `.` or `..` path segment. The result always has the template's scheme, host and port.
 */
export function renderUrlTemplate(
  template: string,
  scope: TemplateScope,
  where: { nodeId?: string | undefined; field?: string | undefined } = {},
): string {
  assertUrlTemplate(template, where);
  const text = template.trim();
  const staticOrigin = staticOriginOf(text);
  let part: UrlPart = 'path';
  let rendered = '';
  // The path segment being built, and whether a value contributed to it.
  let segment = '';
  let segmentDynamic = false;
  const endSegment = (): void => {
    if (segmentDynamic && DOT_SEGMENT.test(segment)) {
      const node = where.nodeId === undefined ? '' : `node "${where.nodeId}": `;
      throw new FlowtraceError(
        'invalid_input',
        `${node}a template value makes the URL path segment "${segment}", which would move up the path; URL template values may not be "." or ".."`,
        { nodeId: where.nodeId },
      );
    }
    segment = '';
    segmentDynamic = false;
  };
  const addStatic = (chunk: string): void => {
    for (const ch of chunk) {
      rendered += ch;
      if (part === 'path') {
        // The URL parser reads `\` as `/` in http(s) URLs and drops tabs and line breaks.
        if (ch === '/' || ch === '\\') endSegment();
        else if (ch === '?' || ch === '#') {
          endSegment();
          part = ch === '?' ? 'query' : 'fragment';
        } else if (!/[\t\n\r]/.test(ch)) segment += ch;
      } else if (part === 'query' && ch === '#') part = 'fragment';
    }
  };
  const prefixLength = staticOrigin.prefix.length;
  rendered = text.slice(0, prefixLength);
  let last = prefixLength;
  // The character that ended the authority decides where the rest starts.
  const terminator = text[prefixLength - 1];
  if (terminator === '?') part = 'query';
  else if (terminator === '#') part = 'fragment';
  for (const match of text.matchAll(PLACEHOLDER)) {
    const index = match.index ?? 0;
    addStatic(text.slice(last, index));
    const value = renderTemplate(match[0], scope, where);
    const encoded = encodeURIComponent(value.toWellFormed());
    rendered += encoded;
    if (part === 'path') {
      segment += encoded;
      segmentDynamic = true;
    }
    last = index + match[0].length;
  }
  addStatic(text.slice(last));
  if (part === 'path') endSegment();

  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    throw new FlowtraceError(
      'invalid_definition',
      `${where.nodeId === undefined ? '' : `node "${where.nodeId}": `}the URL template renders "${truncate(rendered, 200)}", which is not a valid URL`,
      { nodeId: where.nodeId },
    );
  }
  // Unreachable for a template that passed the check; kept so that the guarantee never rests on it alone.
  if (url.origin !== staticOrigin.origin) {
    throw new FlowtraceError(
      'invalid_definition',
      `${where.nodeId === undefined ? '' : `node "${where.nodeId}": `}the URL template's values would change its origin`,
      { nodeId: where.nodeId },
    );
  }
  return url.href;
}

/** The origin a safe template's static text fixes (`https://api.example.com:8443`). */
export function urlTemplateOrigin(template: string): string {
  assertUrlTemplate(template);
  return staticOriginOf(template.trim()).origin;
}

function staticOriginOf(text: string): { prefix: string; origin: string } {
  const match = SAFE_PREFIX.exec(text) ?? BARE_ORIGIN.exec(text);
  const origin = match === null ? null : originOf(match[1] ?? '', match[2] ?? '');
  if (match === null || origin === null) throw new Error('staticOriginOf called on an unchecked template');
  return { prefix: match[0], origin };
}

function originOf(scheme: string, authority: string): string | null {
  try {
    const url = new URL(`${scheme.toLowerCase()}://${authority}/`);
    if (url.hostname === '' || url.username !== '' || url.password !== '') return null;
    return url.origin;
  } catch {
    return null;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
