import { authFetch } from './page-token.js';

export type ApiAnswer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; code: string; message: string };

/** Calls the API with the page's token; a refusal comes back as the API's `{ error: { code, message } }`. */
export async function callApi<T>(method: string, route: string, body?: unknown): Promise<ApiAnswer<T>> {
  let response: Response;
  try {
    response = await authFetch(route, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  } catch (error) {
    return { ok: false, status: 0, code: 'unreachable', message: `the server cannot be reached (${(error as Error).message})` };
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // A non-JSON answer (a proxy's error page): reported by its status below.
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    return { ok: false, status: response.status, code: error?.code ?? `http_${response.status}`, message: error?.message ?? `HTTP ${response.status}` };
  }
  return { ok: true, status: response.status, body: parsed as T };
}
