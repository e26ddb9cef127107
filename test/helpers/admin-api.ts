/**
 * The admin token test servers are started with (LIVEFX_ADMIN_TOKEN), and requests that carry it, so
 * tests run the same before and after access control is enforced.
 */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
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

export async function createStreamAsAdmin(url: string, title: string): Promise<{ id: string; streamKey: string; urls: Record<string, string> }> {
  const { status, body } = await adminApi(url, '/v1/streams', { body: { title } });
  if (status !== 201) throw new Error(`create stream failed: ${status} ${JSON.stringify(body)}`);
  return body;
}
