import { callApi } from './page-api.js';
import { byTestId, element, queryParam, renderStats, showError } from './page-elements.js';
import { withPageToken } from './page-token.js';

type ReviewState = 'pending' | 'approved' | 'rejected';

interface ClipView {
  rank: number;
  start: number;
  end: number;
  score: number;
  reasons: string[];
  file: string | null;
  captions: string | null;
  thumbnail: string | null;
  review: ReviewState;
}

interface HighlightsView {
  clips: ClipView[];
  reel: { file: string | null; duration: number } | null;
  chapters: { start: number; end: number; title: string }[];
  chaptersText: string | null;
  provenance: Record<string, unknown>;
  notes: string[];
}

interface JobView {
  id: string;
  kind: 'highlights' | 'reel';
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  stage: string;
  result: unknown;
  error: string | null;
  updatedAt: string;
}

const API = '/v1/video/highlights';
const POLL_MS = 1000;

/** Seconds of the recording as mm:ss (h:mm:ss past an hour). */
function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${String(m).padStart(2, '0')}:${s}`;
}



/** One clip's card: player, score, reasons, review buttons and the trim control. */
class ClipCard {
  readonly root = element('li', 'card clip');
  private readonly video = element('video', 'video');
  private readonly times = element('p', 'muted');
  private readonly review = element('span', 'state');
  private readonly trimStart = element('input');
  private readonly trimEnd = element('input');
  private readonly error = element('p', 'error');
  private readonly buttons: HTMLButtonElement[] = [];
  private clip: ClipView;
  /** start–end of the file the player holds; a trim re-cut changes it and the player reloads. */
  private loadedKey = '';

  constructor(
    private readonly jobId: string,
    clip: ClipView,
    private readonly onChanged: (view: JobView) => void,
  ) {
    this.clip = clip;
    this.root.dataset.testid = 'clip';
    this.root.dataset.rank = String(clip.rank);
    const heading = element('h2', undefined, `#${clip.rank}`);
    const score = element('span', 'pill');
    score.dataset.testid = 'clip-score';
    score.textContent = `score ${clip.score.toFixed(2)}`;
    heading.append(' ', score);
    this.video.dataset.testid = 'clip-video';
    this.video.controls = true;
    this.video.preload = 'metadata';
    this.video.playsInline = true;
    this.times.dataset.testid = 'clip-times';
    const reasons = element('ul', 'clip-reasons');
    reasons.dataset.testid = 'clip-reasons';
    for (const reason of clip.reasons) reasons.append(element('li', undefined, reason));
    const reviewLine = element('p', undefined, 'Review ');
    this.review.dataset.testid = 'clip-review';
    reviewLine.append(this.review);
    const actions = element('div', 'row');
    const approve = this.button('clip-approve', 'Approve', 'primary', () => void this.send({ review: 'approved' }));
    const reject = this.button('clip-reject', 'Reject', 'danger', () => void this.send({ review: 'rejected' }));
    actions.append(approve, reject);
    const trim = element('div', 'row clip-trim');
    for (const [input, testId, label] of [
      [this.trimStart, 'clip-trim-start', 'start (s)'],
      [this.trimEnd, 'clip-trim-end', 'end (s)'],
    ] as const) {
      input.type = 'number';
      input.step = '0.1';
      input.min = '0';
      input.dataset.testid = testId;
      input.setAttribute('aria-label', `clip ${clip.rank} ${label}`);
      const wrap = element('label', undefined, `${label} `);
      wrap.append(input);
      trim.append(wrap);
    }
    trim.append(this.button('clip-trim-apply', 'Apply trim', undefined, () => void this.applyTrim()));
    this.error.dataset.testid = 'clip-error';
    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.root.append(heading, this.video, this.times, reasons, reviewLine, actions, trim, this.error);
    this.update(clip);
  }

  update(clip: ClipView): void {
    this.clip = clip;
    this.root.dataset.review = clip.review;
    this.review.textContent = clip.review;
    this.review.dataset.state = clip.review;
    this.times.textContent = `${formatClock(clip.start)}–${formatClock(clip.end)} of the recording (${(clip.end - clip.start).toFixed(1)} s)`;
    const key = `${clip.start}-${clip.end}`;
    if (key === this.loadedKey) return;
    // Only a changed clip resets its trim inputs, so a review elsewhere on the page keeps what is being typed here.
    this.trimStart.value = String(clip.start);
    this.trimEnd.value = String(clip.end);
    if (!clip.file) return;
    this.loadedKey = key;
    // The query string defeats the cache: a re-cut clip keeps its file name.
    const version = `?v=${encodeURIComponent(key)}`;
    if (clip.thumbnail) this.video.poster = withPageToken(`${clip.thumbnail}${version}`);
    this.video.src = withPageToken(`${clip.file}${version}`);
    this.video.replaceChildren();
    if (clip.captions) {
      const track = element('track');
      track.kind = 'captions';
      track.srclang = 'en';
      track.label = 'Captions';
      track.default = true;
      track.src = withPageToken(`${clip.captions}${version}`);
      this.video.append(track);
    }
  }

  private button(testId: string, text: string, className: string | undefined, onClick: () => void): HTMLButtonElement {
    const button = element('button', className, text);
    button.dataset.testid = testId;
    button.addEventListener('click', onClick);
    this.buttons.push(button);
    return button;
  }

  private async applyTrim(): Promise<void> {
    const start = this.trimStart.valueAsNumber;
    const end = this.trimEnd.valueAsNumber;
    if (!Number.isFinite(start) || start < 0) return showError(this.error, 'start: enter a number of seconds, 0 or more');
    if (!Number.isFinite(end)) return showError(this.error, 'end: enter a number of seconds');
    if (end <= start) return showError(this.error, `end: must be after start (${start})`);
    await this.send({ review: this.clip.review, start, end });
  }

  private async send(body: { review: ReviewState; start?: number; end?: number }): Promise<void> {
    for (const button of this.buttons) button.disabled = true;
    const answer = await callApi<JobView>('PATCH', `${API}/${encodeURIComponent(this.jobId)}/clips/${this.clip.rank}`, body);
    for (const button of this.buttons) button.disabled = false;
    if (!answer.ok) return showError(this.error, answer.message);
    showError(this.error, null);
    this.onChanged(answer.body);
  }
}

/**
 * /review?job=<id>: follows a highlights job until it is done, then plays each clip with its score and
 * reasons for approve/reject and trim, lists the chapters, plays the reel and re-renders it from the approved clips.
 */
export class ReviewPage {
  private readonly status = byTestId('job-status');
  private readonly stage = byTestId('job-stage');
  private readonly progress = byTestId<HTMLProgressElement>('job-progress');
  private readonly jobError = byTestId('job-error');
  private readonly notes = byTestId<HTMLUListElement>('job-notes');
  private readonly clipList = byTestId<HTMLOListElement>('clips');
  private readonly chapters = byTestId<HTMLOListElement>('chapters');
  private readonly provenance = byTestId('provenance-list');
  private readonly reelVideo = byTestId<HTMLVideoElement>('reel-video');
  private readonly reelDuration = byTestId('reel-duration');
  private readonly reelRender = byTestId<HTMLButtonElement>('reel-render');
  private readonly reelStatus = byTestId('reel-status');
  private readonly reelProgress = byTestId<HTMLProgressElement>('reel-progress');
  private readonly reelError = byTestId('reel-error');
  private readonly cards = new Map<number, ClipCard>();
  private reelVersion = 'first';
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly jobId: string | undefined) {
    this.reelRender.addEventListener('click', () => void this.renderReel());
  }

  async start(): Promise<void> {
    if (!this.jobId) return this.fail('no job', 'no job given: open /review?job=<id> with the id POST /v1/video/highlights returned');
    byTestId('job-id').textContent = this.jobId;
    await this.poll();
  }

  private async poll(): Promise<void> {
    const answer = await callApi<JobView>('GET', `${API}/${encodeURIComponent(this.jobId!)}`);
    if (!answer.ok) {
      if (answer.status === 404) return this.fail('not found', answer.message);
      // A blip (server restarting): say so and keep trying.
      showError(this.jobError, answer.message);
      this.timer = setTimeout(() => void this.poll(), POLL_MS);
      return;
    }
    const job = answer.body;
    showError(this.jobError, null);
    this.showProgress(job, this.status, this.stage, this.progress);
    if (job.kind !== 'highlights') return this.fail('not a highlights job', `job ${job.id} is a ${job.kind} job: open the review page of the highlights job it belongs to`);
    if (job.status === 'failed') return this.fail('failed', `the job failed: ${job.error ?? 'no reason given'}`);
    if (job.status === 'cancelled') return this.fail('cancelled', 'the job was cancelled before it finished');
    if (job.status === 'done') return this.show(job);
    this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private showProgress(job: JobView, status: HTMLElement, stage: HTMLElement | undefined, bar: HTMLProgressElement): void {
    status.textContent = job.status;
    status.dataset.state = job.status === 'done' ? 'done' : job.status === 'failed' || job.status === 'cancelled' ? 'failed' : 'connecting';
    if (stage) stage.textContent = job.status === 'running' ? job.stage : '';
    bar.value = job.progress;
    bar.textContent = `${Math.round(job.progress * 100)} %`;
  }

  private fail(state: string, message: string): void {
    this.status.textContent = state;
    this.status.dataset.state = 'failed';
    this.stage.textContent = '';
    showError(this.jobError, message);
  }

  /** Renders a finished job; cards are kept and updated so a playing clip is not interrupted. */
  private show(job: JobView): void {
    const result = job.result as HighlightsView;
    if (this.cards.size === 0 && result.clips.length === 0) this.clipList.replaceChildren(element('li', 'card muted', 'No clips: nothing in the recording met the strategy.'));
    for (const clip of result.clips) {
      const card = this.cards.get(clip.rank);
      if (card) card.update(clip);
      else {
        const created = new ClipCard(job.id, clip, (view) => this.show(view));
        this.cards.set(clip.rank, created);
        this.clipList.append(created.root);
      }
    }
    this.notes.replaceChildren(...result.notes.map((note) => element('li', undefined, note)));
    this.notes.hidden = result.notes.length === 0;
    this.showReel(result.reel);
    this.reelRender.disabled = !result.clips.some((clip) => clip.review === 'approved');
    this.reelRender.title = this.reelRender.disabled ? 'approve at least one clip first' : '';
    this.chapters.replaceChildren(
      ...(result.chapters.length > 0
        ? result.chapters.map((chapter) => element('li', undefined, `${formatClock(chapter.start)} ${chapter.title}`))
        : [element('li', 'muted', 'No chapters')]),
    );
    this.showProvenance(result.provenance);
  }

  private showReel(reel: HighlightsView['reel']): void {
    this.reelVideo.hidden = !reel?.file;
    this.reelDuration.textContent = reel ? `${reel.duration.toFixed(1)} s` : 'No reel: no clips.';
    this.reelDuration.dataset.duration = reel ? String(reel.duration) : '';
    if (!reel?.file) return;
    const src = withPageToken(`${reel.file}?v=${encodeURIComponent(this.reelVersion)}`);
    if (this.reelVideo.getAttribute('src') !== src) this.reelVideo.src = src;
  }

  private showProvenance(provenance: Record<string, unknown>): void {
    const source = (provenance.source ?? {}) as { recordingId?: string; sha256?: string; media?: string };
    const versions = (provenance.versions ?? {}) as Record<string, string>;
    renderStats(this.provenance, [
      ['Source recording', `${source.recordingId ?? '?'}${source.media ? ` (${source.media})` : ''}`],
      ['SHA-256', source.sha256 ?? '?'],
      ['Strategy', String(provenance.strategy ?? '?')],
      ['Seed', String(provenance.seed ?? '?')],
      ['AI-edited', provenance.aiEdited === true ? `yes — ${String(provenance.disclosure ?? '')}` : 'no'],
      ['Versions', Object.entries(versions).map(([name, version]) => {
        const line = version.split(/\n| Copyright/)[0]!;
        return line.startsWith(name) ? line : `${name} ${line}`;
      }).join(' · ')],
      ['Created', String(provenance.createdAt ?? '?')],
    ]);
  }

  private async renderReel(): Promise<void> {
    this.reelRender.disabled = true;
    showError(this.reelError, null);
    const answer = await callApi<{ id: string; status: string }>('POST', `${API}/${encodeURIComponent(this.jobId!)}/reel`);
    if (!answer.ok) {
      this.reelRender.disabled = false;
      return showError(this.reelError, answer.message);
    }
    this.reelStatus.dataset.job = answer.body.id;
    this.reelProgress.hidden = false;
    await this.followReel(answer.body.id);
  }

  private async followReel(reelId: string): Promise<void> {
    const answer = await callApi<JobView>('GET', `${API}/${encodeURIComponent(reelId)}`);
    if (!answer.ok) {
      showError(this.reelError, answer.message);
      this.reelRender.disabled = false;
      return;
    }
    const job = answer.body;
    this.showProgress(job, this.reelStatus, undefined, this.reelProgress);
    if (job.status === 'queued' || job.status === 'running') {
      setTimeout(() => void this.followReel(reelId), POLL_MS);
      return;
    }
    if (job.status !== 'done') showError(this.reelError, `the reel job ${job.status}: ${job.error ?? 'no reason given'}`);
    this.reelVersion = reelId;
    const refreshed = await callApi<JobView>('GET', `${API}/${encodeURIComponent(this.jobId!)}`);
    if (refreshed.ok) this.show(refreshed.body);
    else showError(this.reelError, refreshed.message);
  }

  close(): void {
    clearTimeout(this.timer);
  }
}

void new ReviewPage(queryParam('job')).start();
