import { readSetting, writeSetting } from './page-elements.js';

const TAB_KEY = 'livefx.token';
const ADMIN_KEY = 'livefx.adminToken';

function tabStorage(): Storage | undefined {
  try {
    return sessionStorage;
  } catch {
    return undefined;
  }
}

declare global {
  interface Window {
    /** The token this page acts with, once known: kept on the window so the page's inline early script (a bundle with its own copy of this module) and its modules agree. */
    livefxPageToken?: string;
  }
}

/**
 * The token this page acts with: `?token=` of the link it was opened from (kept for this tab, and
 * taken out of the address bar so it is not shared by a copied URL), else this tab's, else the
 * admin token signed in on the home page.
 */
export function pageToken(): string | undefined {
  const known = window.livefxPageToken;
  if (known !== undefined) return known || undefined;
  const url = new URL(location.href);
  const fromLink = url.searchParams.get('token');
  if (fromLink) {
    tabStorage()?.setItem(TAB_KEY, fromLink);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.toString());
  }
  const token = (window.livefxPageToken = fromLink ?? tabStorage()?.getItem(TAB_KEY) ?? readSetting(ADMIN_KEY) ?? '');
  return token || undefined;
}

/** Uses this token for this page only (the publish page acts with its stream key). */
export function usePageToken(token: string): void {
  window.livefxPageToken = token;
}

/** Signs the browser in as admin (the home page): remembered across tabs and restarts. */
export function rememberAdminToken(token: string): void {
  writeSetting(ADMIN_KEY, token);
  tabStorage()?.removeItem(TAB_KEY);
  window.livefxPageToken = token;
}

export function forgetTokens(): void {
  writeSetting(ADMIN_KEY, '');
  tabStorage()?.removeItem(TAB_KEY);
  window.livefxPageToken = '';
}

/** `Authorization: Bearer …` when the page has a token. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = pageToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** fetch() with the page's token. */
export function authFetch(input: string, init: RequestInit = {}): Promise<Response> {
  return fetch(input, { ...init, headers: authHeaders((init.headers as Record<string, string> | undefined) ?? {}) });
}

/** socket.io options carrying the page's token in the handshake. */
export function socketAuth(): { auth: { token?: string } } {
  const token = pageToken();
  return { auth: token ? { token } : {} };
}

/** A URL with `token=` added when the page has one (media URLs: HLS playlists cannot send headers). */
export function withPageToken(url: string): string {
  const token = pageToken();
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}
