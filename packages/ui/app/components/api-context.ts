import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ViewerApi } from '../api/client.ts';

export const ApiContext = createContext<ViewerApi | null>(null);

/** The signed-in API client; pages render only inside the provider. */
export function useApi(): ViewerApi {
  const client = useContext(ApiContext);
  if (!client) throw new Error('useApi outside ApiContext');
  return client;
}
