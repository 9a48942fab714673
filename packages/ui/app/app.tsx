import { useMemo, useState } from 'preact/hooks';
import { ViewerApi } from './api/client.ts';
import { ApiContext } from './components/api-context.ts';
import { AppShell } from './components/app-shell.tsx';
import { Link } from './components/common.tsx';
import { storeApiKey, storedApiKey } from './lib/api-key.ts';
import { matchRoute, useLocation } from './lib/router.ts';
import { RunPage } from './pages/run/run-page.tsx';
import { RunsPage } from './pages/runs-page.tsx';
import { SignInPage } from './pages/sign-in-page.tsx';

/** Sign-in gate, then the page for the current path. */
export function App() {
  const [key, setKey] = useState(storedApiKey);
  const [notice, setNotice] = useState<string | null>(null);
  const { pathname } = useLocation();

  const client = useMemo(
    () =>
      key
        ? new ViewerApi({
            apiKey: key,
            onUnauthorized: () => {
              storeApiKey(null);
              setNotice('The API key was refused (revoked or unknown). Enter a valid key.');
              setKey(null);
            },
          })
        : null,
    [key],
  );

  if (!client) {
    return (
      <AppShell>
        <SignInPage
          notice={notice}
          onSignedIn={(value) => {
            storeApiKey(value);
            setNotice(null);
            setKey(value);
          }}
        />
      </AppShell>
    );
  }

  const route = matchRoute(pathname);
  const signOut = () => {
    storeApiKey(null);
    setKey(null);
  };
  return (
    <ApiContext.Provider value={client}>
      <AppShell onSignOut={signOut}>
        {route.page === 'runs' ? <RunsPage /> : null}
        {route.page === 'run' ? <RunPage key={route.runId} runId={route.runId} /> : null}
        {route.page === 'not-found' ? (
          <div class="empty">
            <p>There is no page at {pathname}.</p>
            <Link href="/ui/runs">Go to the runs</Link>
          </div>
        ) : null}
      </AppShell>
    </ApiContext.Provider>
  );
}
