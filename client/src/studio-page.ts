import { byTestId, queryParam, renderStats } from './page-elements.js';
import { pageToken, withPageToken } from './page-token.js';
import { callApi, element, formatSeconds, refusal, showError, type RecordingView, type RenderView, type Shot, type Storyboard } from './studio-api.js';
import { StudioShotCard } from './studio-shot-card.js';

const POLL_MS = 500;

const signIn = byTestId('studio-signin');
const signInForm = byTestId<HTMLFormElement>('studio-signin-form');
const tokenInput = byTestId<HTMLInputElement>('studio-token-input');
const authError = byTestId('studio-auth-error');
const signedInAs = byTestId('studio-signed-in-as');
const planCard = byTestId('studio-plan-card');
const recordingList = byTestId('studio-recordings');
const prompt = byTestId<HTMLTextAreaElement>('studio-prompt');
const shotCount = byTestId<HTMLInputElement>('studio-shots');
const aspect = byTestId<HTMLSelectElement>('studio-aspect');
const style = byTestId<HTMLSelectElement>('studio-style');
const planButton = byTestId<HTMLButtonElement>('studio-plan');
const planError = byTestId('studio-error');
const boardCard = byTestId('studio-storyboard');
const boardId = byTestId('studio-storyboard-id');
const boardSummary = byTestId('studio-storyboard-summary');
const saveStatus = byTestId('studio-save-status');
const music = byTestId<HTMLSelectElement>('studio-music');
const editError = byTestId('studio-edit-error');
const shotList = byTestId('studio-shots-list');
const renderCard = byTestId('studio-render-card');
const renderPreview = byTestId<HTMLButtonElement>('studio-render-preview');
const renderFinal = byTestId<HTMLButtonElement>('studio-render-final');
const renderCancel = byTestId<HTMLButtonElement>('studio-render-cancel');
const renderStatus = byTestId('studio-render-status');
const renderStage = byTestId('studio-render-stage');
const progress = byTestId<HTMLProgressElement>('studio-progress');
const renderError = byTestId('studio-render-error');
const video = byTestId<HTMLVideoElement>('studio-video');
const renderSummary = byTestId('studio-render-summary');
const provenance = byTestId<HTMLDetailsElement>('studio-provenance');
const provenanceList = byTestId('studio-provenance-list');

let recordings: RecordingView[] = [];
let storyboard: Storyboard | undefined;
/** A save in flight: the cards are disabled until the server's answer replaces them. */
let saving = false;
let rendering: { id: string; timer: number | undefined } | undefined;

/** Signed in as admin or operator, or the sign-in box with why not. */
async function checkSignIn(): Promise<boolean> {
  if (!pageToken()) return refuse('Not signed in.');
  const who = await callApi<{ role: string; label?: string; streamId?: string }>('GET', '/v1/auth/whoami');
  if (!who.ok) return refuse(refusal(who));
  if (who.body.role !== 'admin' && who.body.role !== 'operator') {
    return refuse(who.body.role === 'anonymous' ? 'The token was not accepted: sign in with an admin or operator token.' : `Signed in as ${who.body.role}: the studio needs an admin or operator token.`);
  }
  signedInAs.textContent = `${who.body.role}${who.body.label ? ` · ${who.body.label}` : ''}`;
  signIn.hidden = true;
  planCard.hidden = false;
  renderCard.hidden = false;
  return true;
}

function refuse(message: string): false {
  signIn.hidden = false;
  planCard.hidden = true;
  renderCard.hidden = true;
  showError(authError, message);
  return false;
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void signInWith(tokenInput.value.trim());
});

/** Tries a typed token first (a refused `?token=` would make the page itself a 401), then keeps it for this tab. */
async function signInWith(token: string): Promise<void> {
  let answer: Response;
  try {
    answer = await fetch('/v1/auth/whoami', { headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    return void refuse(`the server cannot be reached (${(error as Error).message})`);
  }
  const body = (await answer.json().catch(() => null)) as { role?: string; error?: { code: string; message: string } } | null;
  if (!answer.ok || !body) return void refuse(body?.error ? refusal(body.error) : `HTTP ${answer.status}`);
  if (body.role !== 'admin' && body.role !== 'operator') return void refuse(`Signed in as ${body.role ?? 'nobody'}: the studio needs an admin or operator token.`);
  // The page keeps a `?token=` for this tab (page-token.ts) and takes it out of the address bar.
  const url = new URL(location.href);
  url.searchParams.set('token', token);
  location.assign(url.toString());
}

async function loadRecordings(): Promise<void> {
  const answer = await callApi<{ recordings: RecordingView[] }>('GET', '/v1/recordings');
  if (!answer.ok) {
    recordingList.replaceChildren(element('li', 'error', `Recordings cannot be listed: ${refusal(answer)}`));
    return;
  }
  recordings = answer.body.recordings.filter((recording) => recording.state !== 'recording');
  if (recordings.length === 0) {
    recordingList.replaceChildren(element('li', 'muted', 'No finished recordings yet: the storyboard is built from title cards and assets.'));
    return;
  }
  recordingList.replaceChildren(
    ...recordings.map((recording) => {
      const item = element('li', 'studio-recording');
      item.dataset.testid = 'studio-recording';
      item.dataset.id = recording.id;
      const label = element('label');
      const check = element('input');
      check.type = 'checkbox';
      check.value = recording.id;
      check.dataset.testid = 'studio-recording-check';
      label.append(check, element('span', 'studio-recording-title', recording.title || recording.id));
      label.append(element('span', 'muted', `${formatSeconds(recording.durationS)} · ${new Date(recording.startedAt).toLocaleString()}`));
      item.append(label);
      return item;
    }),
  );
}

function pickedRecordings(): string[] {
  return [...recordingList.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked')].map((check) => check.value);
}

planButton.addEventListener('click', () => void plan());

async function plan(): Promise<void> {
  showError(planError, null);
  const text = prompt.value.trim();
  if (!text) return showError(planError, 'Type a prompt first, e.g. "30s recap of the weekend plans, warm look".');
  const request: Record<string, unknown> = { prompt: text };
  const picked = pickedRecordings();
  if (picked.length > 0) request.sources = { recording_ids: picked };
  if (shotCount.value) request.shots = Number(shotCount.value);
  if (aspect.value) request.aspect = aspect.value;
  if (style.value) request.style = style.value;
  planButton.disabled = true;
  planButton.textContent = 'Planning…';
  try {
    const answer = await callApi<Storyboard>('POST', '/v1/video/storyboards', request);
    if (!answer.ok) return showError(planError, `Planning failed: ${refusal(answer)}`);
    showStoryboard(answer.body);
    history.replaceState(history.state, '', `?storyboard=${encodeURIComponent(answer.body.id)}`);
  } finally {
    planButton.disabled = false;
    planButton.textContent = 'Plan';
  }
}

function showStoryboard(next: Storyboard): void {
  storyboard = next;
  boardCard.hidden = false;
  boardId.textContent = next.id;
  const total = next.shots.reduce((sum, shot) => sum + shot.duration, 0);
  boardSummary.textContent = `${next.shots.length} shot${next.shots.length === 1 ? '' : 's'} · ${total.toFixed(1)} s · ${next.aspect} · ${next.style} · seed ${next.seed}`;
  shotList.replaceChildren(...next.shots.map((shot) => new StudioShotCard(shot, next.shots.length, recordings, { replace, move, remove }, saving).root));
  shotList.setAttribute('aria-busy', String(saving));
  const track = next.music?.track;
  // A track stored but not listed (uploaded since the page loaded, or deleted) still shows as chosen.
  if (track && ![...music.options].some((option) => option.value === track)) music.append(new Option(track, track));
  music.value = track ?? '';
  music.disabled = saving;
  renderPreview.disabled = rendering !== undefined;
  renderFinal.disabled = rendering !== undefined;
}

/** Shots in their new order with index and start times that follow it. */
function sequenced(shots: Shot[]): Shot[] {
  let start = 0;
  return shots.map((shot, index) => {
    const placed: Shot = { ...shot, index, start: Math.round(start * 1000) / 1000 };
    // The first shot has nothing to transition from.
    if (index === 0) delete placed.transition;
    start += shot.duration;
    return placed;
  });
}

function replace(index: number, shot: Shot): void {
  if (!storyboard) return;
  const shots = [...storyboard.shots];
  shots[index] = shot;
  void save(shots);
}

function move(index: number, by: -1 | 1): void {
  if (!storyboard) return;
  const shots = [...storyboard.shots];
  const [moved] = shots.splice(index, 1);
  if (!moved) return;
  shots.splice(index + by, 0, moved);
  void save(shots);
}

function remove(index: number): void {
  if (!storyboard) return;
  void save(storyboard.shots.filter((_shot, position) => position !== index));
}

/** PATCH /v1/video/storyboards/:id with the edited shots. */
function save(edited: Shot[]): Promise<void> {
  const shots = sequenced(edited);
  const total = Math.round(shots.reduce((sum, shot) => sum + shot.duration, 0) * 1000) / 1000;
  const body: Record<string, unknown> = { shots };
  // The length follows the shots while it stays in the allowed range; outside it the server says why.
  if (total >= 5 && total <= 180) body.duration_s = total;
  return patchStoryboard(body);
}

// A built-in bed or an uploaded track (POST /v1/music); "none" removes the music.
music.addEventListener('change', () => {
  const current = storyboard?.music;
  void patchStoryboard({ music: music.value ? { track: music.value, gain_db: current?.gain_db ?? -18, duck: current?.duck ?? true } : null });
});

/** The music the storyboard may use: the built-in beds, then the usable uploaded tracks. */
async function loadMusic(): Promise<void> {
  const answer = await callApi<{ tracks: { name: string; error?: string }[]; beds: string[] }>('GET', '/v1/music');
  if (!answer.ok) return;
  const beds = answer.body.beds.map((bed) => new Option(`${bed} (built-in)`, bed));
  const tracks = answer.body.tracks.filter((track) => track.error === undefined).map((track) => new Option(track.name, track.name));
  music.replaceChildren(new Option('none', ''), ...beds, ...tracks);
  music.value = storyboard?.music?.track ?? '';
}

/** Sends an edit; a refusal is shown and the cards go back to what is stored. */
async function patchStoryboard(body: Record<string, unknown>): Promise<void> {
  if (!storyboard || saving) return;
  saving = true;
  showError(editError, null);
  saveStatus.textContent = 'saving…';
  showStoryboard(storyboard);
  const answer = await callApi<Storyboard>('PATCH', `/v1/video/storyboards/${encodeURIComponent(storyboard.id)}`, body);
  saving = false;
  if (answer.ok) {
    saveStatus.textContent = 'saved';
    showStoryboard(answer.body);
  } else {
    saveStatus.textContent = 'not saved';
    showError(editError, `The change was refused: ${refusal(answer)}`);
    showStoryboard(storyboard);
  }
}

async function loadStoryboard(id: string): Promise<void> {
  const answer = await callApi<Storyboard>('GET', `/v1/video/storyboards/${encodeURIComponent(id)}`);
  if (!answer.ok) return showError(planError, `Storyboard ${id} cannot be opened: ${refusal(answer)}`);
  prompt.value = answer.body.prompt;
  showStoryboard(answer.body);
}

renderPreview.addEventListener('click', () => void startRender('preview'));
renderFinal.addEventListener('click', () => void startRender('high'));
renderCancel.addEventListener('click', () => {
  if (rendering) void callApi('DELETE', `/v1/video/renders/${encodeURIComponent(rendering.id)}`);
});

async function startRender(quality: 'preview' | 'high'): Promise<void> {
  if (!storyboard || rendering) return;
  showError(renderError, null);
  renderPreview.disabled = true;
  renderFinal.disabled = true;
  const answer = await callApi<{ id: string; status: RenderView['status'] }>('POST', '/v1/video/renders', { storyboard_id: storyboard.id, quality });
  if (!answer.ok) {
    renderPreview.disabled = false;
    renderFinal.disabled = false;
    return showError(renderError, `The render could not start: ${refusal(answer)}`);
  }
  rendering = { id: answer.body.id, timer: undefined };
  renderCard.dataset.quality = quality;
  renderCancel.hidden = false;
  showRender({ id: answer.body.id, status: answer.body.status, progress: 0, stage: 'queued' });
  await poll();
}

async function poll(): Promise<void> {
  if (!rendering) return;
  const current = rendering;
  const answer = await callApi<RenderView>('GET', `/v1/video/renders/${encodeURIComponent(current.id)}`);
  if (!answer.ok) {
    showError(renderError, `The render's progress cannot be read: ${refusal(answer)}`);
    finishRender();
    return;
  }
  showRender(answer.body);
  if (answer.body.status === 'queued' || answer.body.status === 'running') current.timer = window.setTimeout(() => void poll(), POLL_MS);
  else finishRender();
}

function finishRender(): void {
  rendering = undefined;
  renderCancel.hidden = true;
  renderPreview.disabled = !storyboard;
  renderFinal.disabled = !storyboard;
}

function showRender(view: RenderView): void {
  renderStatus.textContent = view.status;
  renderStatus.dataset.state = view.status;
  renderStage.textContent = view.status === 'running' || view.status === 'queued' ? view.stage : '';
  progress.hidden = false;
  progress.value = view.status === 'done' ? 1 : Math.max(0, Math.min(1, view.progress));
  if (view.status === 'failed' || view.status === 'cancelled') {
    const error = view.error as { message?: string; code?: string } | string | null | undefined;
    const message = typeof error === 'string' ? error : error?.message ? `${error.message}${error.code ? ` (${error.code})` : ''}` : view.status === 'cancelled' ? 'cancelled' : 'the render failed';
    showError(renderError, `Render ${view.status}: ${message}`);
  }
  const result = view.result;
  if (view.status !== 'done' || !result) return;
  const source = withPageToken(result.file);
  if (video.dataset.file !== result.file) {
    video.dataset.file = result.file;
    video.src = source;
    video.poster = result.thumbnail ? withPageToken(result.thumbnail) : '';
    video.replaceChildren();
    if (result.captions) {
      const track = element('track');
      track.kind = 'captions';
      track.label = 'Captions';
      track.srclang = 'en';
      track.src = withPageToken(result.captions);
      video.append(track);
    }
  }
  video.hidden = false;
  const cached = result.shots.filter((shot) => shot.cached).length;
  renderSummary.textContent = `${result.width}×${result.height} · ${result.duration.toFixed(1)} s · ${cached} of ${result.shots.length} shots from the cache`;
  showProvenance(result.provenance);
}

/** The provenance as label → value rows; the signature's key and time first when it is signed. */
function showProvenance(fields: Record<string, unknown>): void {
  const rows: [string, string][] = [];
  const signature = fields.signature as { keyId?: string; signedAt?: string } | undefined;
  if (signature?.keyId) rows.push(['Signed', `by key ${signature.keyId}${signature.signedAt ? ` at ${signature.signedAt}` : ''}`]);
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'signature') continue;
    rows.push([key, typeof value === 'string' ? value : typeof value === 'boolean' ? (value ? 'yes' : 'no') : JSON.stringify(value)]);
  }
  renderStats(provenanceList, rows);
  provenance.hidden = rows.length === 0;
}

async function main(): Promise<void> {
  if (!(await checkSignIn())) return;
  await Promise.all([loadRecordings(), loadMusic()]);
  const id = queryParam('storyboard');
  if (id) await loadStoryboard(id);
}

void main();
