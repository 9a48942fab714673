const STORAGE_KEY = 'flowtrace.apiKey';

/**
 * The API key lives in this tab's session storage: it survives a reload, never leaves the browser except
 * as the Authorization header, and is gone when the tab closes.
 */
export function storedApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeApiKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(STORAGE_KEY, key);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: the key lasts until reload.
  }
}
