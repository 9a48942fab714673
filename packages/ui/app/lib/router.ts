import { useEffect, useState } from 'preact/hooks';

const CHANGE = 'flowtrace:navigate';

/** Moves to another page of the viewer without reloading. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

/** The current location, updated on navigation and on the browser's back and forward buttons. */
export function useLocation(): Location {
  const read = (): Location => ({
    pathname: location.pathname,
    search: new URLSearchParams(location.search),
  });
  const [current, setCurrent] = useState(read);
  useEffect(() => {
    const update = () => setCurrent(read());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return current;
}

/** Lets a plain click on an in-app link navigate in place; modified clicks (new tab) behave as usual. */
export function onLinkClick(event: MouseEvent, href: string): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(href);
}

export type Route = { page: 'runs' } | { page: 'run'; runId: string } | { page: 'not-found' };

/** `/ui/runs` and `/ui/runs/<id>`. */
export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '');
  if (path === '/ui' || path === '/ui/runs') return { page: 'runs' };
  const run = /^\/ui\/runs\/([^/]+)$/.exec(path);
  if (run?.[1]) return { page: 'run', runId: decodeURIComponent(run[1]) };
  return { page: 'not-found' };
}

export const runPath = (runId: string) => `/ui/runs/${encodeURIComponent(runId)}`;
