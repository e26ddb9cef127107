import { ADMIN_TOKEN, createStream } from './livefx-process.js';

/** The admin token test servers are started with (LIVEFX_ADMIN_TOKEN), and the header that carries it. */
export { ADMIN_TOKEN };
export const ADMIN_HEADERS = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A JSON request to the server's API as the admin: the status and the parsed JSON body (or the text). */
export async function adminApi(url: string, route: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${route}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...ADMIN_HEADERS, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text && response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
}

/** POST /v1/streams as the admin. */
export const createStreamAsAdmin = (url: string, title: string): ReturnType<typeof createStream> => createStream(url, title);
