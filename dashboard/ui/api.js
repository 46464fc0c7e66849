// REST calls with the admin token from sessionStorage (this tab only; never in a URL).
const KEY = 'switchyard.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An error answer of the hub: its stable code, its message, its HTTP status. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? 'HTTP_ERROR';
    /** The parsed answer: some errors carry a full report (GET /v1/health answers 503 with the health). */
    this.body = body;
  }
}

let onUnauthorized = () => {};
/** Called when the hub refuses the token (401): the page goes back to sign-in. */
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/**
 * `api(path, init?)` -> the parsed JSON answer, or throws ApiError. A body object is sent as JSON.
 * This is the signature push.js expects (issue 10's contract).
 */
export async function api(path, init = {}) {
  const headers = { accept: 'application/json', ...(init.headers ?? {}) };
  const t = token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  let body = init.body;
  if (body !== undefined && typeof body !== 'string') {
    body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, { ...init, headers, body });
  const text = await res.text();
  const data = text ? safeJson(text) : null;
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return { message: text }; }
}

/** A route another branch adds (alerts, metrics history, push) may be absent on this hub. */
export const notAvailable = (err) => err instanceof ApiError && (err.status === 404 || err.code === 'NOT_FOUND');
