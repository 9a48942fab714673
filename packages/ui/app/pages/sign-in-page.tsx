import { FlowtraceApiError } from '@flowtrace/client';
import { useState } from 'preact/hooks';
import { ViewerApi } from '../api/client.ts';

/** Asks for an API key once per tab and checks it against the API before keeping it. */
export function SignInPage(props: { onSignedIn: (key: string) => void; notice?: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(props.notice ?? null);
  const [checking, setChecking] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Paste an API key first.');
      return;
    }
    setChecking(true);
    setError(null);
    try {
      await new ViewerApi({ apiKey: trimmed }).client.listRuns({ limit: 1 });
      props.onSignedIn(trimmed);
    } catch (caught) {
      if (caught instanceof FlowtraceApiError && caught.status === 401)
        setError('This API key is not valid or has been revoked.');
      else setError(`Could not reach the API: ${(caught as Error).message}`);
    } finally {
      setChecking(false);
    }
  };

  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="signin-brand">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={32} height={32} />
          <div>
            <h1>flowtrace</h1>
            <p class="muted">Run viewer</p>
          </div>
        </div>
        <label class="field">
          <span>API key</span>
          <input
            type="password"
            name="apiKey"
            autocomplete="off"
            spellcheck={false}
            placeholder="ft_…"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <p class="hint">
          Create one with <code>npm run apikey -- --tenant &lt;name&gt;</code>. It is kept in this tab's
          session storage only and sent to this API as a bearer token.
        </p>
        {error ? (
          <p class="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="btn btn-primary" disabled={checking}>
          {checking ? 'Checking…' : 'Open runs'}
        </button>
      </form>
    </div>
  );
}
