// The hub's public API, as the browser reaches it: same origin, the session cookie sent by the browser, and
// the CSRF token (the readable devtrack_csrf cookie) echoed in X-CSRF-Token on every write.

/** An answer that is not 2xx: the API's `{"error": {"code", "message"}}`, or what went wrong on the way. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'devtrack_csrf') return decodeURIComponent(rest.join('='));
  }
  return '';
}

function withQuery(path, query) {
  if (!query) return path;
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') parameters.set(key, String(value));
  }
  const text = parameters.toString();
  return text ? `${path}?${text}` : path;
}

/** One request; resolves to the parsed JSON (null for 204), rejects with an ApiError. */
export async function request(method, path, { body, query, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  let response;
  try {
    response = await fetch(withQuery(path, query), {
      method, headers, signal, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The hub cannot be reached: check your connection and try again.');
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const detail = json?.error;
    throw new ApiError(
      response.status, detail?.code ?? 'http_' + response.status,
      detail?.message ?? `The hub answered ${response.status} ${response.statusText}.`);
  }
  return json;
}

export const api = {
  get: (path, query, options) => request('GET', path, { ...options, query }),
  post: (path, body, options) => request('POST', path, { ...options, body }),
  patch: (path, body, options) => request('PATCH', path, { ...options, body }),
  put: (path, body, options) => request('PUT', path, { ...options, body }),
  delete: (path, options) => request('DELETE', path, options),
};
