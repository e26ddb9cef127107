import type { Socket } from 'socket.io-client';
import type { ChainStats } from '../../transforms/chain-stats.js';

interface ParamSchema {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
}

interface TransformCatalogEntry {
  name: string;
  params: { properties: Record<string, ParamSchema> };
}

interface SpecEntry {
  name: string;
  enabled: boolean;
  params: Record<string, unknown>;
}

const SEND_DELAY_MS = 60;

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

  private readonly socket: Socket = io('/operator', { transports: ['websocket'] });

  constructor(
    private readonly container: HTMLElement,
    private readonly streamId: string,
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
      fetch('/v1/transforms').then((response) => response.json() as Promise<{ transforms: TransformCatalogEntry[] }>),
      this.socket.timeout(5000).emitWithAck('join', { streamId: this.streamId }) as Promise<{ ok: boolean; chain?: { transforms: SpecEntry[] }; error?: { message: string } }>,
    ]);
    this.catalog = catalog.transforms;
    if (!joined.ok || !joined.chain) throw new Error(joined.error?.message ?? 'could not join the stream as operator');
    this.spec = joined.chain.transforms;
    this.render();
  }

  /** Per-transform ms from the stream's stats (the chain ends with the burn-in probe, not shown). */
  updateTimings(chain: ChainStats): void {
    this.timingElements.forEach((element, index) => {
      // Only while the running chain matches what the cards show (a refused change is not running).
      const timing = chain.transforms[index];
      const matches = timing !== undefined && timing.name === this.spec[index]?.name;
      element.textContent = matches ? `${timing.averageMs.toFixed(2)} ms${timing.skippedFrames > 0 ? ` · ${timing.skippedFrames} skipped` : ''}` : '—';
    });
    const degraded = this.container.querySelector<HTMLElement>('[data-testid="chain-degraded"]');
    if (degraded) degraded.hidden = !chain.degraded;
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
    const row = document.createElement('label');
    row.className = 'param';
    const caption = document.createElement('span');
    caption.textContent = name;
    row.append(caption);
    const current = entry.params[name] ?? schema.default;
    if (schema.enum) {
      const select = document.createElement('select');
      select.dataset.testid = `param-${name}`;
      for (const option of schema.enum) select.append(new Option(option, option, false, option === current));
      select.addEventListener('change', () => {
        entry.params[name] = select.value;
        this.send(0);
      });
      row.append(select);
    } else if (schema.type === 'number') {
      const slider = document.createElement('input');
      slider.type = 'range';
      slider.dataset.testid = `param-${name}`;
      slider.min = String(schema.minimum ?? 0);
      slider.max = String(schema.maximum ?? 1);
      slider.step = String(((schema.maximum ?? 1) - (schema.minimum ?? 0)) / 200);
      slider.value = String(current ?? 0);
      const value = document.createElement('output');
      value.textContent = Number(slider.value).toFixed(2);
      slider.addEventListener('input', () => {
        entry.params[name] = Number(slider.value);
        value.textContent = Number(slider.value).toFixed(2);
        this.send(SEND_DELAY_MS);
      });
      row.append(slider, value);
    } else {
      const input = document.createElement('input');
      input.dataset.testid = `param-${name}`;
      input.value = typeof current === 'string' ? current : '';
      input.placeholder = name === 'file' ? 'grade.cube (in the server’s luts folder)' : '';
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
      // A lut3d needs its file before the server can accept it.
      if (select.value !== 'lut3d') this.send(0);
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
      .catch(() => ({ ok: false, error: { message: 'the server did not answer' } }))) as { ok: boolean; error?: { message: string } };
    this.showError(ack.ok ? '' : `Not applied: ${ack.error?.message ?? 'refused'}`);
  }
}

function emptyNote(): HTMLElement {
  const note = document.createElement('p');
  note.className = 'muted';
  note.textContent = 'No transforms yet: add one below.';
  return note;
}
