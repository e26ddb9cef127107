import { byTestId } from './page-elements.js';
import type { StreamView } from './live-socket.js';

interface CreatedStream {
  id: string;
  streamKey: string;
  urls: { publish: string; watch: string; watchHls: string; operator: string };
}

const form = byTestId<HTMLFormElement>('create-form');
const titleInput = byTestId<HTMLInputElement>('title-input');
const created = byTestId('created');
const list = byTestId('stream-list');
const errorElement = byTestId('error');

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

async function refresh(): Promise<void> {
  const response = await fetch('/v1/streams');
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
        title.href = `/watch?stream=${stream.id}`;
        title.textContent = stream.title;
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

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorElement.hidden = true;
  const response = await fetch('/v1/streams', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: titleInput.value }) });
  if (response.status !== 201) {
    errorElement.textContent = ((await response.json()) as { error: { message: string } }).error.message;
    errorElement.hidden = false;
    return;
  }
  const stream = (await response.json()) as CreatedStream;
  const heading = document.createElement('h3');
  heading.textContent = `“${titleInput.value}” is ready`;
  const links = document.createElement('ul');
  links.className = 'links';
  links.append(
    link('Publish (streamer — keep this link private)', stream.urls.publish),
    link('Watch (WebRTC)', stream.urls.watch),
    link('Watch (HLS)', stream.urls.watchHls),
    link('Operator console', stream.urls.operator),
  );
  created.replaceChildren(heading, links);
  created.hidden = false;
  void refresh();
});

void refresh();
window.setInterval(() => void refresh(), 3000);
