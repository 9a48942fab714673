/**
 * SigNoz's answer envelopes (`pkg/http/render/render.go`): `{status: "success", data}` with the status the
 * handler picks, and `{status: "error", error: {type, code, message, errors, suggestions}}` whose HTTP
 * status follows the error type (`invalid-input` 400, `unauthenticated` 401, `not-found` 404,
 * `unsupported` 501, …).
 */
export interface Reply {
  status: number;
  body?: unknown;
}

const STATUS_BY_TYPE = {
  'invalid-input': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'already-exists': 409,
  unsupported: 501,
} as const;
export type ErrorType = keyof typeof STATUS_BY_TYPE;

export const success = (status: number, data?: unknown): Reply =>
  data === undefined ? { status } : { status, body: { status: 'success', data } };

export const failure = (type: ErrorType, code: string, message: string): Reply => ({
  status: STATUS_BY_TYPE[type],
  body: { status: 'error', error: { type, code, message, errors: [], suggestions: [] } },
});

export type Obj = Record<string, unknown>;
export const isObj = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
