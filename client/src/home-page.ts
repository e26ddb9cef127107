import { byTestId } from './page-elements.js';
import type { StreamView } from './live-socket.js';
import { authFetch, forgetTokens, pageToken, rememberAdminToken } from './page-token.js';

interface CreatedStream {
  id: string;
  visibility: 'public' | 'private';
  streamKey: string;
  operatorToken: string;
  viewerLink?: { url: string; expiresAt: string };
  urls: { publish: string; watch: string; watchHls: string; operator: string };
}

interface WhoAmI {
  role: 'admin' | 'operator' | 'viewer' | 'anonymous';
  label?: string;
}

const signIn = byTestId('sign-in');
const signInForm = byTestId<HTMLFormElement>('sign-in-form');
const tokenInput = byTestId<HTMLInputElement>('admin-token-input');
const signInError = byTestId('sign-in-error');
const signedIn = byTestId('signed-in');
const signedInAs = byTestId('signed-in-as');
const goLive = byTestId('go-live');
const streamsCard = byTestId('streams-card');
const form = byTestId<HTMLFormElement>('create-form');
const titleInput = byTestId<HTMLInputElement>('title-input');
const visibilitySelect = byTestId<HTMLSelectElement>('visibility-select');
const created = byTestId('created');
const list = byTestId('stream-list');
const errorElement = byTestId('error');
let refreshTimer: number | undefined;

function link(label: string, href: string): HTMLElement {
  const row = document.createElement('li');
  const anchor = document.createElement('a');
  anchor.href = href;
  anchor.textContent = label;
  anchor.target = '_blank';
  const url = document.createElement('code');
  url.textContent = new URL(href, location.origin).toString();
  row.append(anchor, url);
  return row;
}

async function errorMessage(response: Response): Promise<string> {
  try {
    return ((await response.json()) as { error: { message: string } }).error.message;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

async function refresh(): Promise<void> {
  const response = await authFetch('/v1/streams');
  if (response.status === 401 || response.status === 403) return void showSignIn(await errorMessage(response));
  if (!response.ok) return;
  const { streams } = (await response.json()) as { streams: StreamView[] };
  if (streams.length === 0) {
    list.textContent = 'No streams yet.';
    return;
  }
  list.replaceChildren(
    ...streams
      .slice()
      .reverse()
      .map((stream) => {
        const row = document.createElement('li');
        const state = document.createElement('span');
        state.className = `badge badge-${stream.state}`;
        state.textContent = stream.state;
        const title = document.createElement('a');
        // The admin's own session opens private streams too: the watch page uses this tab's token.
        title.href = `/watch?stream=${stream.id}`;
        title.textContent = stream.visibility === 'private' ? `${stream.title} (private)` : stream.title;
        const detail = document.createElement('span');
        detail.className = 'muted';
        detail.textContent = stream.state === 'live' ? `${stream.stats.width}×${stream.stats.height} · ${stream.stats.viewers.webrtc + stream.stats.viewers.hls} watching` : stream.id;
        const operator = document.createElement('a');
        operator.href = `/operator?stream=${stream.id}`;
        operator.textContent = 'operate';
        row.append(state, title, detail, operator);
        return row;
      }),
  );
}

function showSignIn(problem?: string): void {
  window.clearInterval(refreshTimer);
  signIn.hidden = false;
  goLive.hidden = true;
  streamsCard.hidden = true;
  signedIn.hidden = true;
  signInError.hidden = !problem;
  signInError.textContent = problem ?? '';
}

async function enter(): Promise<void> {
  if (!pageToken()) return showSignIn();
  const response = await authFetch('/v1/auth/whoami');
  if (!response.ok) return showSignIn(await errorMessage(response));
  const who = (await response.json()) as WhoAmI;
  if (who.role !== 'admin') return showSignIn(`this token is a${who.role === 'operator' ? 'n operator' : ` ${who.role}`} token: creating streams needs the admin token`);
  signIn.hidden = true;
  goLive.hidden = false;
  streamsCard.hidden = false;
  signedIn.hidden = false;
  signedInAs.textContent = `Signed in as admin (${who.label ?? 'token'}).`;
  void refresh();
  window.clearInterval(refreshTimer);
  refreshTimer = window.setInterval(() => void refresh(), 3000);
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  rememberAdminToken(tokenInput.value.trim());
  tokenInput.value = '';
  void enter();
});

byTestId('sign-out').addEventListener('click', () => {
  forgetTokens();
  showSignIn();
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorElement.hidden = true;
  const response = await authFetch('/v1/streams', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: titleInput.value, visibility: visibilitySelect.value }),
  });
  if (response.status !== 201) {
    errorElement.textContent = await errorMessage(response);
    errorElement.hidden = false;
    return;
  }
  const stream = (await response.json()) as CreatedStream;
  const heading = document.createElement('h3');
  heading.textContent = `“${titleInput.value}” is ready${stream.visibility === 'private' ? ' (private)' : ''}`;
  const links = document.createElement('ul');
  links.className = 'links';
  const watchNote = stream.viewerLink ? ` — signed link, valid until ${new Date(stream.viewerLink.expiresAt).toLocaleString()}` : '';
  links.append(
    link('Publish (streamer — keep this link private)', stream.urls.publish),
    link(`Watch (WebRTC)${watchNote}`, stream.urls.watch),
    link('Watch (HLS)', stream.urls.watchHls),
    link('Operator console (holds this stream’s operator token)', stream.urls.operator),
  );
  created.replaceChildren(heading, links);
  created.hidden = false;
  void refresh();
});

void enter();
