import { withPageToken } from './page-token.js';
import { CAMERA_MOVES, element, formatSeconds, TRANSITIONS, type RecordingView, type Shot } from './studio-api.js';

/** What a card asks of the page: replace this shot, move it, or delete it (the page saves the storyboard). */
export interface ShotCardActions {
  replace(index: number, shot: Shot): void;
  move(index: number, by: -1 | 1): void;
  remove(index: number): void;
}

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;

function labelled(text: string, control: HTMLElement, className = 'studio-field'): HTMLLabelElement {
  const label = element('label', className);
  label.append(element('span', undefined, text), control);
  return label;
}

function secondsInput(testId: string, value: number, min: number): HTMLInputElement {
  const input = element('input');
  input.type = 'number';
  input.step = '0.1';
  input.min = String(min);
  input.value = String(round(value));
  input.dataset.testid = testId;
  return input;
}

function select(testId: string, options: readonly (readonly [string, string])[], value: string): HTMLSelectElement {
  const node = element('select');
  node.dataset.testid = testId;
  for (const [optionValue, label] of options) {
    const option = element('option', undefined, label);
    option.value = optionValue;
    node.append(option);
  }
  node.value = value;
  return node;
}

/**
 * One shot of the storyboard as a card: thumbnail (the recording's frame at the in point), source and
 * in/out, duration, text, camera move, transition and the planner's reasons, with move/delete buttons.
 * Every edit is handed to the page at once (on `change`), which saves the whole storyboard.
 */
export class StudioShotCard {
  readonly root = element('li', 'card studio-shot');

  constructor(shot: Shot, count: number, recordings: readonly RecordingView[], actions: ShotCardActions, busy: boolean) {
    const { index } = shot;
    this.root.dataset.testid = 'studio-shot';
    this.root.dataset.index = String(index);
    this.root.dataset.kind = shot.kind;

    const head = element('header', 'studio-shot-head');
    const title = element('h3', undefined, `#${index + 1}`);
    title.append(' ', element('span', 'pill', shot.kind));
    const time = element('span', 'muted', `${formatSeconds(shot.start)}–${formatSeconds(shot.start + shot.duration)} · ${shot.duration.toFixed(1)} s`);
    time.dataset.testid = 'studio-shot-time';
    const buttons = element('div', 'studio-shot-buttons');
    const up = element('button', undefined, '↑');
    up.dataset.testid = 'studio-shot-up';
    up.title = 'Move earlier';
    up.disabled = busy || index === 0;
    up.addEventListener('click', () => actions.move(index, -1));
    const down = element('button', undefined, '↓');
    down.dataset.testid = 'studio-shot-down';
    down.title = 'Move later';
    down.disabled = busy || index === count - 1;
    down.addEventListener('click', () => actions.move(index, 1));
    const remove = element('button', 'danger', 'Delete');
    remove.dataset.testid = 'studio-shot-delete';
    remove.disabled = busy || count <= 1;
    remove.title = count <= 1 ? 'A storyboard keeps at least one shot' : 'Delete this shot';
    remove.addEventListener('click', () => actions.remove(index));
    buttons.append(up, down, remove);
    head.append(title, time, buttons);

    const body = element('div', 'studio-shot-body');
    body.append(this.thumbnail(shot));
    const fields = element('div', 'studio-shot-fields');
    const commit = (next: Shot): void => actions.replace(index, next);

    const source = shot.source;
    if (source && 'recording_id' in source) {
      const known = recordings.some((recording) => recording.id === source.recording_id);
      const choices: [string, string][] = recordings.map((recording) => [recording.id, recording.title || recording.id]);
      if (!known) choices.unshift([source.recording_id, source.recording_id]);
      const swap = select('studio-shot-source', choices, source.recording_id);
      swap.addEventListener('change', () => {
        // The same range of another recording, moved back when that one is shorter.
        const length = source.out - source.in;
        const limit = recordings.find((recording) => recording.id === swap.value)?.durationS ?? Number.POSITIVE_INFINITY;
        const start = Math.max(0, Math.min(source.in, limit - length));
        commit({ ...shot, source: { recording_id: swap.value, in: round(start), out: round(Math.min(limit, start + length)) } });
      });
      fields.append(labelled('Source', swap, 'studio-field studio-field-wide'));
      const inInput = secondsInput('studio-shot-in', source.in, 0);
      const outInput = secondsInput('studio-shot-out', source.out, 0);
      const retime = (): void => {
        const start = Number(inInput.value);
        const end = Number(outInput.value);
        commit({ ...shot, duration: round(end - start), source: { ...source, in: round(start), out: round(end) } });
      };
      inInput.addEventListener('change', retime);
      outInput.addEventListener('change', retime);
      fields.append(labelled('In (s)', inInput), labelled('Out (s)', outInput));
    } else if (source && 'asset_id' in source) {
      fields.append(labelled('Asset', element('code', undefined, source.asset_id), 'studio-field studio-field-wide'));
    }

    const duration = secondsInput('studio-shot-duration', shot.duration, 0.2);
    duration.addEventListener('change', () => {
      const seconds = round(Number(duration.value));
      // A clip's duration is its range: a new duration moves the out point.
      if (source && 'recording_id' in source) commit({ ...shot, duration: seconds, source: { ...source, out: round(source.in + seconds) } });
      else commit({ ...shot, duration: seconds });
    });
    fields.append(labelled('Duration (s)', duration));

    const camera = select('studio-shot-camera', [['', '—'], ...CAMERA_MOVES.map((move) => [move, move] as const)], shot.camera ?? '');
    camera.addEventListener('change', () => {
      const { camera: _old, ...rest } = shot;
      commit(camera.value ? { ...rest, camera: camera.value } : rest);
    });
    const transition = select('studio-shot-transition', [['', '—'], ...TRANSITIONS.map((name) => [name, name] as const)], shot.transition?.name ?? '');
    transition.disabled = index === 0;
    transition.title = index === 0 ? 'The first shot has no transition into it' : 'Transition from the shot before';
    transition.addEventListener('change', () => {
      const { transition: _old, ...rest } = shot;
      commit(transition.value ? { ...rest, transition: { name: transition.value, duration: transition.value === 'cut' ? 0 : (shot.transition?.duration || 0.5) } } : rest);
    });
    fields.append(labelled('Camera', camera), labelled('Transition', transition));

    const text = element('textarea');
    text.rows = 2;
    text.maxLength = 500;
    text.dataset.testid = 'studio-shot-text';
    text.placeholder = shot.kind === 'title' ? 'Title text' : 'On-screen text (optional)';
    text.value = shot.text ?? '';
    text.addEventListener('change', () => {
      const { text: _old, ...rest } = shot;
      commit(text.value.trim() ? { ...rest, text: text.value } : rest);
    });
    fields.append(labelled('Text', text, 'studio-field studio-field-wide'));
    body.append(fields);

    const reasons = element('ul', 'studio-reasons');
    reasons.dataset.testid = 'studio-shot-reasons';
    for (const reason of shot.reasons) reasons.append(element('li', undefined, reason));
    if (shot.reasons.length === 0) reasons.append(element('li', 'muted', 'no reason given'));

    for (const control of fields.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input, select, textarea')) if (busy) control.disabled = true;
    this.root.append(head, body, reasons);
  }

  /** The recording's frame at the in point; title and image shots show what they are. */
  private thumbnail(shot: Shot): HTMLElement {
    const frame = element('div', 'studio-thumb');
    const source = shot.source;
    if (source && 'recording_id' in source) {
      const image = element('img');
      image.dataset.testid = 'studio-shot-thumb';
      image.alt = `frame at ${formatSeconds(source.in)} of ${source.recording_id}`;
      image.loading = 'lazy';
      image.src = withPageToken(`/v1/recordings/${encodeURIComponent(source.recording_id)}/frame?t=${source.in.toFixed(1)}`);
      const caption = element('span', 'studio-thumb-range', `${formatSeconds(source.in)}–${formatSeconds(source.out)}`);
      caption.dataset.testid = 'studio-shot-range';
      frame.append(image, caption);
    } else {
      frame.classList.add('studio-thumb-card');
      frame.dataset.testid = 'studio-shot-thumb';
      frame.textContent = shot.kind === 'title' ? (shot.text ?? 'Title') : source && 'asset_id' in source ? `image ${source.asset_id}` : shot.kind;
    }
    return frame;
  }
}
