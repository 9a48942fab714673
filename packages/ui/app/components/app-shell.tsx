import type { ComponentChildren } from 'preact';
import { Link } from './common.tsx';

/** The top bar and page frame. */
export function AppShell(props: { onSignOut?: () => void; children: ComponentChildren }) {
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/ui/runs" class="brand">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={22} height={22} />
          <span>flowtrace</span>
        </Link>
        <nav class="topnav">
          <Link href="/ui/runs" class="topnav-item">
            Runs
          </Link>
        </nav>
        {props.onSignOut ? (
          <button type="button" class="btn btn-ghost btn-sm" onClick={props.onSignOut}>
            Forget API key
          </button>
        ) : null}
      </header>
      <main class="page">{props.children}</main>
    </div>
  );
}
