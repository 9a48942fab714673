import type { ComponentChildren } from 'preact';
import { formatJson, safeHref } from '../lib/format.ts';
import { onLinkClick } from '../lib/router.ts';

const STATUS_LABELS: Record<string, string> = {
  pending: 'Pending',
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  skipped: 'Skipped',
  cancelled: 'Cancelled',
};

/** A run's or node's status as a coloured pill; the colour also comes with a word, never alone. */
export function StatusBadge({ status, size = 'md' }: { status: string; size?: 'sm' | 'md' }) {
  return (
    <span class={`badge badge-${size} status-${status}`} data-status={status}>
      <span class="badge-dot" aria-hidden="true" />
      {STATUS_LABELS[status] ?? status}
    </span>
  );
}

/** An in-app link: navigates without a reload on a plain click. */
export function Link(props: { href: string; class?: string; title?: string; children: ComponentChildren }) {
  return (
    <a href={props.href} class={props.class} title={props.title} onClick={(e) => onLinkClick(e, props.href)}>
      {props.children}
    </a>
  );
}

/** A link out of the viewer (SigNoz), opened in a new tab without a referrer; nothing if not http(s). */
export function ExternalLink(props: {
  href: string | null | undefined;
  class?: string;
  children: ComponentChildren;
}) {
  const href = safeHref(props.href);
  if (!href) return null;
  return (
    <a href={href} class={props.class} target="_blank" rel="noopener noreferrer">
      {props.children}
      <span class="external-mark" aria-hidden="true">
        ↗
      </span>
    </a>
  );
}

/** JSON (inputs, outputs, step content) as text: never interpreted as HTML. */
export function JsonBlock({ value, empty = 'None' }: { value: unknown; empty?: string }) {
  if (value === null || value === undefined) return <p class="muted">{empty}</p>;
  return <pre class="json">{formatJson(value)}</pre>;
}

export function Card(props: {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <section class={`card ${props.class ?? ''}`}>
      {props.title || props.actions ? (
        <header class="card-header">
          {props.title ? <h2>{props.title}</h2> : <span />}
          {props.actions ? <div class="card-actions">{props.actions}</div> : null}
        </header>
      ) : null}
      {props.children}
    </section>
  );
}

export function ErrorNotice({ title, message }: { title: string; message: string }) {
  return (
    <div class="notice notice-error" role="alert">
      <strong>{title}</strong>
      <span>{message}</span>
    </div>
  );
}
