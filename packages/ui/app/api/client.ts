import { FlowtraceClient } from '@flowtrace/client';

export interface ViewerApiOptions {
  apiKey: string;
  /** Where the API is; the page's own origin by default. */
  baseUrl?: string;
  /** Called on any 401: the page forgets the key and asks for one again. */
  onUnauthorized?: () => void;
}

/**
 * The page's connection to the API: `@flowtrace/client` for requests, and what the event follower needs
 * to read the stream itself (its URL, the key and the same `fetch`, which reports a refused key).
 */
export class ViewerApi {
  readonly client: FlowtraceClient;
  readonly fetch: typeof fetch;
  readonly #apiKey: string;
  readonly #baseUrl: string;

  constructor(options: ViewerApiOptions) {
    this.#apiKey = options.apiKey;
    this.#baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    const onUnauthorized = options.onUnauthorized;
    this.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (response.status === 401) onUnauthorized?.();
      return response;
    };
    this.client = new FlowtraceClient({ baseUrl: this.#baseUrl, apiKey: options.apiKey, fetch: this.fetch });
  }

  /** The URL of an API path (same origin unless a base URL was given). */
  url(path: string): string {
    return `${this.#baseUrl}${path}`;
  }

  /** The key as a bearer token, with any extra headers. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...extra, authorization: `Bearer ${this.#apiKey}` };
  }
}
