import type { Socket } from 'socket.io-client';
import type { ChainStats } from '../../transforms/chain-stats.js';
import type { AssetFolder, AssetLibrary } from './asset-library.js';
import { AssetPicker } from './asset-picker.js';
import { ColorControl, colorKind } from './color-control.js';
import { authFetch } from './page-token.js';

interface ParamSchema {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  pattern?: string;
}

interface TransformCatalogEntry {
  name: string;
  params: { properties: Record<string, ParamSchema> };
}

export interface SpecEntry {
  name: string;
  enabled: boolean;
  params: Record<string, unknown>;
}

const SEND_DELAY_MS = 60;
/** Transforms whose `file` names an uploaded asset, and the server folder it comes from. */
const FILE_FOLDERS: Record<string, AssetFolder> = { lut3d: 'luts', image: 'images' };

/**
 * The operator console's transform cards: one card per transform with a toggle, remove, and
 * controls built from the server's parameter schemas. Changes go over the `/operator` socket as a
 * whole spec; changes made elsewhere (another console, the HTTP API) arrive as `chain` events.
 */
export class TransformCards {
  private catalog: TransformCatalogEntry[] = [];
  private spec: SpecEntry[] = [];
  private sendTimer: number | undefined;
  private readonly timingElements: HTMLElement[] = [];
  /** Why the last change was refused, shown right above the controls. */
  private readonly errorElement = document.createElement('p');

  constructor(
    private readonly container: HTMLElement,
    private readonly streamId: string,
    private readonly socket: Socket,
    private readonly assets: AssetLibrary,
  ) {
    this.socket.on('chain', (message: { streamId: string; chain: { transforms: SpecEntry[] }; changedBy: string }) => {
      if (message.streamId !== this.streamId || message.changedBy.includes(this.socket.id ?? '\u0000')) return;
      this.spec = message.chain.transforms;
      this.render();
    });
    // After a reconnect the server has forgotten the room: join again.
    this.socket.io.on('reconnect', () => void this.socket.emitWithAck('join', { streamId: this.streamId }).catch(() => undefined));
    this.errorElement.className = 'error';
    this.errorElement.dataset.testid = 'transform-error';
    this.errorElement.hidden = true;
  }

  private showError(message: string): void {
    this.errorElement.textContent = message;
    this.errorElement.hidden = message === '';
  }

  async load(): Promise<void> {
    const [catalog, joined] = await Promise.all([
      authFetch('/v1/transforms').then((response) => response.json() as Promise<{ transforms: TransformCatalogEntry[] }>),
      this.socket.timeout(5000).emitWithAck('join', { streamId: this.streamId }) as Promise<{ ok: boolean; chain?: { transforms: SpecEntry[] }; error?: { message: string } }>,
    ]);
    this.catalog = catalog.transforms;
    if (!joined.ok || !joined.chain) throw new Error(joined.error?.message ?? 'could not join the stream as operator');
    this.spec = joined.chain.transforms;
    this.render();
  }

  /** The chain as the cards show it (what "save current chain" stores). */
  currentSpec(): { transforms: SpecEntry[] } {
    return { transforms: structuredClone(this.spec) };
  }

  /** Shows a chain this console applied by other means (a preset): the server echoes it to the others only. */
  showChain(transforms: SpecEntry[]): void {
    window.clearTimeout(this.sendTimer);
    this.spec = transforms;
    this.showError('');
    this.render();
  }

  /** Per-transform ms from the stream's stats (the chain ends with the burn-in probe, not shown). */
  updateTimings(chain: ChainStats): void {
    this.timingElements.forEach((element, index) => {
      // Only while the running chain matches what the cards show (a refused change is not running).
      const timing = chain.transforms[index];
      const matches = timing !== undefined && timing.name === this.spec[index]?.name;
      element.textContent = matches
        ? `${timing.averageMs.toFixed(2)} ms${timing.backend && timing.backend !== 'js' ? ` · ${timing.backend}` : ''}${timing.halfResolution ? ' · half resolution' : ''}${timing.skippedFrames > 0 ? ` · ${timing.skippedFrames} skipped` : ''}${timing.note ? ` · ${timing.note}` : ''}`
        : '—';
      element.classList.toggle('warning', matches && timing.note !== undefined);
    });
    const degraded = this.container.querySelector<HTMLElement>('[data-testid="chain-degraded"]');
    if (degraded) {
      degraded.hidden = !chain.degraded && !chain.halfResolution;
      degraded.textContent = chain.degraded
        ? 'Degraded: heavy transforms run every other frame to keep up.'
        : 'Degraded: stylizations run at half resolution to keep up.';
    }
  }

  private render(): void {
    this.timingElements.length = 0;
    const cards = this.spec.map((entry, index) => this.card(entry, index));
    const degraded = document.createElement('p');
    degraded.dataset.testid = 'chain-degraded';
    degraded.className = 'error';
    degraded.textContent = 'Degraded: heavy transforms run every other frame to keep up.';
    degraded.hidden = true;
    this.container.replaceChildren(...(cards.length > 0 ? cards : [emptyNote()]), degraded, this.errorElement, this.addRow());
  }

  private card(entry: SpecEntry, index: number): HTMLElement {
    const card = document.createElement('section');
    card.className = 'transform-card';
    card.dataset.testid = 'transform-card';
    const header = document.createElement('header');
    const toggle = document.createElement('input');
    toggle.type = 'checkbox';
    toggle.checked = entry.enabled;
    toggle.dataset.testid = 'transform-toggle';
    toggle.addEventListener('change', () => {
      entry.enabled = toggle.checked;
      this.send(0);
    });
    const title = document.createElement('strong');
    title.textContent = entry.name;
    const timing = document.createElement('span');
    timing.className = 'muted';
    timing.dataset.testid = 'transform-ms';
    timing.textContent = '—';
    this.timingElements.push(timing);
    const remove = document.createElement('button');
    remove.textContent = 'Remove';
    remove.dataset.testid = 'transform-remove';
    remove.addEventListener('click', () => {
      this.spec.splice(index, 1);
      this.render();
      this.send(0);
    });
    const label = document.createElement('label');
    label.append(toggle, title);
    header.append(label, timing, remove);
    card.append(header);
    const properties = this.catalog.find((candidate) => candidate.name === entry.name)?.params.properties ?? {};
    for (const [name, schema] of Object.entries(properties)) card.append(this.control(entry, name, schema));
    return card;
  }

  private control(entry: SpecEntry, name: string, schema: ParamSchema): HTMLElement {
    const current = entry.params[name] ?? schema.default;
    const folder = name === 'file' ? FILE_FOLDERS[entry.name] : undefined;
    const color = colorKind(schema);
    // Composite controls sit in a div: a label would send every click to its first input.
    const row = document.createElement(folder || color ? 'div' : 'label');
    row.className = 'param';
    const caption = document.createElement('span');
    caption.textContent = name;
    row.append(caption);
    if (folder) {
      const picker = new AssetPicker(this.assets, folder, typeof current === 'string' ? current : undefined, (file) => {
        entry.params[name] = file;
        this.send(0);
      });
      picker.element.classList.add('param-wide');
      row.append(picker.element);
    } else if (color) {
      const control = new ColorControl(name, typeof current === 'string' ? current : '', color === 'rgba', (value) => {
        entry.params[name] = value;
        this.send(SEND_DELAY_MS);
      });
      control.element.classList.add('param-wide');
      row.append(control.element);
    } else if (schema.enum) {
      const select = document.createElement('select');
      select.dataset.testid = `param-${name}`;
      for (const option of schema.enum) select.append(new Option(option, option, false, option === current));
      select.addEventListener('change', () => {
        entry.params[name] = select.value;
        this.send(0);
      });
      row.append(select);
    } else if (schema.type === 'integer' && (schema.maximum ?? Infinity) - (schema.minimum ?? 0) > 1000) {
      // A wide integer (a seed) is typed, not slid.
      const input = document.createElement('input');
      input.type = 'number';
      input.step = '1';
      input.dataset.testid = `param-${name}`;
      if (schema.minimum !== undefined) input.min = String(schema.minimum);
      if (schema.maximum !== undefined) input.max = String(schema.maximum);
      input.value = String(current ?? '');
      input.addEventListener('change', () => {
        entry.params[name] = Number(input.value);
        this.send(0);
      });
      row.append(input);
    } else if (schema.type === 'number' || schema.type === 'integer') {
      const integer = schema.type === 'integer';
      const minimum = schema.minimum ?? 0;
      const maximum = schema.maximum ?? 1;
      const slider = document.createElement('input');
      slider.type = 'range';
      slider.dataset.testid = `param-${name}`;
      slider.min = String(minimum);
      slider.max = String(maximum);
      // A round step (0.01 rather than 0.0495) keeps defaults such as gamma 1 on the scale.
      slider.step = integer ? '1' : String(10 ** Math.floor(Math.log10((maximum - minimum) / 200)));
      slider.value = String(current ?? minimum);
      const value = document.createElement('output');
      const show = (): string => (integer ? String(Number(slider.value)) : Number(slider.value).toFixed(2));
      value.textContent = show();
      slider.addEventListener('input', () => {
        entry.params[name] = Number(slider.value);
        value.textContent = show();
        this.send(SEND_DELAY_MS);
      });
      row.append(slider, value);
    } else {
      const input = document.createElement('input');
      input.dataset.testid = `param-${name}`;
      input.value = typeof current === 'string' ? current : '';
      input.addEventListener('change', () => {
        entry.params[name] = input.value;
        this.send(0);
      });
      row.append(input);
    }
    return row;
  }

  private addRow(): HTMLElement {
    const row = document.createElement('div');
    row.className = 'row';
    const select = document.createElement('select');
    select.dataset.testid = 'add-transform-name';
    for (const entry of this.catalog) select.append(new Option(entry.name, entry.name));
    const add = document.createElement('button');
    add.dataset.testid = 'add-transform';
    add.textContent = 'Add transform';
    add.addEventListener('click', () => {
      const defaults: Record<string, unknown> = {};
      const properties = this.catalog.find((candidate) => candidate.name === select.value)?.params.properties ?? {};
      for (const [name, schema] of Object.entries(properties)) if (schema.default !== undefined) defaults[name] = schema.default;
      this.spec.push({ name: select.value, enabled: true, params: defaults });
      this.render();
      // A lut3d or image needs its file before the server can accept it: the picker sends.
      if (!FILE_FOLDERS[select.value]) this.send(0);
    });
    row.append(select, add);
    return row;
  }

  private send(delayMs: number): void {
    window.clearTimeout(this.sendTimer);
    this.sendTimer = window.setTimeout(() => void this.put(), delayMs);
  }

  private async put(): Promise<void> {
    const ack = (await this.socket
      .timeout(5000)
      .emitWithAck('set-chain', { streamId: this.streamId, spec: { transforms: this.spec } })
      .catch(() => ({ ok: false, error: { message: 'the server did not answer' } }))) as { ok: boolean; chain?: { transforms: SpecEntry[] }; error?: { message: string } };
    this.showError(ack.ok ? '' : `Not applied: ${ack.error?.message ?? 'refused'}`);
    // The server added a transform (the AI-processed label next to a stylization): show it. Only then,
    // so a slider being dragged is not rebuilt under the pointer.
    if (ack.ok && ack.chain && ack.chain.transforms.length !== this.spec.length) {
      this.spec = ack.chain.transforms;
      this.render();
    }
  }
}

function emptyNote(): HTMLElement {
  const note = document.createElement('p');
  note.className = 'muted';
  note.textContent = 'No transforms yet: add one below.';
  return note;
}
