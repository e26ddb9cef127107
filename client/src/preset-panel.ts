import type { Socket } from 'socket.io-client';
import { byTestId } from './page-elements.js';
import type { SpecEntry } from './transform-cards.js';

interface Preset {
  name: string;
  spec: { transforms: SpecEntry[] };
  updatedAt: string;
}

type Ack = { ok: true; [key: string]: unknown } | { ok: false; error: { code: string; message: string } };

/**
 * The presets panel: save the chain the cards show under a name, apply or delete a saved one.
 * The list follows `presets` broadcasts, so every console sees the same presets.
 */
export class PresetPanel {
  private readonly nameInput = byTestId<HTMLInputElement>('preset-name');
  private readonly saveButton = byTestId<HTMLButtonElement>('preset-save');
  private readonly list = byTestId<HTMLUListElement>('preset-list');
  private readonly errorElement = byTestId('preset-error');

  constructor(
    private readonly socket: Socket,
    private readonly streamId: string,
    private readonly currentSpec: () => { transforms: SpecEntry[] },
    private readonly onApplied: (chain: { transforms: SpecEntry[] }) => void,
  ) {
    socket.on('presets', (message: { presets: Preset[] }) => this.render(message.presets));
    socket.io.on('reconnect', () => void this.load());
    this.saveButton.addEventListener('click', () => void this.save());
    this.nameInput.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') void this.save();
    });
  }

  async load(): Promise<void> {
    const ack = await this.ask('list-presets', {});
    if (ack.ok) this.render(ack.presets as Preset[]);
  }

  private async save(): Promise<void> {
    const name = this.nameInput.value.trim();
    if (name === '') return this.showError('Give the preset a name first.');
    const ack = await this.ask('save-preset', { name, spec: this.currentSpec() });
    if (ack.ok) this.nameInput.value = '';
  }

  private async apply(name: string): Promise<void> {
    const ack = await this.ask('apply-preset', { streamId: this.streamId, name });
    if (ack.ok) this.onApplied(ack.chain as { transforms: SpecEntry[] });
  }

  private async remove(name: string): Promise<void> {
    await this.ask('delete-preset', { name });
  }

  /** Emits with an ack; a refusal is shown in the panel, a success clears the last refusal. */
  private async ask(event: string, message: unknown): Promise<Ack> {
    const ack = (await this.socket
      .timeout(5000)
      .emitWithAck(event, message)
      .catch(() => ({ ok: false, error: { code: 'timeout', message: 'the server did not answer' } }))) as Ack;
    this.showError(ack.ok ? '' : `Preset refused: ${ack.error.message}`);
    return ack;
  }

  private render(presets: Preset[]): void {
    if (presets.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'muted';
      empty.textContent = 'No presets yet: save the current chain.';
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(
      ...presets.map((preset) => {
        const row = document.createElement('li');
        row.dataset.preset = preset.name;
        row.title = `${preset.name}, saved ${new Date(preset.updatedAt).toLocaleString()}`;
        const text = document.createElement('div');
        const name = document.createElement('strong');
        name.textContent = preset.name;
        const summary = document.createElement('small');
        summary.className = 'muted';
        summary.textContent = preset.spec.transforms.length > 0 ? preset.spec.transforms.map((entry) => entry.name).join(' → ') : 'empty chain';
        text.append(name, summary);
        const apply = document.createElement('button');
        apply.textContent = 'Apply';
        apply.dataset.testid = 'preset-apply';
        apply.addEventListener('click', () => void this.apply(preset.name));
        const remove = document.createElement('button');
        remove.textContent = 'Delete';
        remove.className = 'danger';
        remove.dataset.testid = 'preset-delete';
        remove.addEventListener('click', () => void this.remove(preset.name));
        row.append(text, apply, remove);
        return row;
      }),
    );
  }

  private showError(message: string): void {
    this.errorElement.textContent = message;
    this.errorElement.hidden = message === '';
  }
}
