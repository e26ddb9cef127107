import type { AssetEntry, AssetFolder, AssetLibrary } from './asset-library.js';

const ACCEPT: Record<AssetFolder, string> = { luts: '.cube', images: '.png,.jpg,.jpeg,image/png,image/jpeg' };

/**
 * The `file` control of a lut3d or image card: a select of the files on the server, and an upload
 * that selects the new file once the server accepted it (or shows why it did not, in place).
 */
export class AssetPicker {
  readonly element = document.createElement('div');
  private readonly select = document.createElement('select');
  private readonly uploadInput = document.createElement('input');
  private readonly status = document.createElement('p');
  private readonly unsubscribe: () => void;

  constructor(
    private readonly library: AssetLibrary,
    private readonly folder: AssetFolder,
    private current: string | undefined,
    private readonly onChoose: (name: string) => void,
  ) {
    this.element.className = 'asset-picker';
    this.select.dataset.testid = 'param-file';
    this.select.addEventListener('change', () => {
      if (this.select.value === '') return;
      this.current = this.select.value;
      this.onChoose(this.select.value);
    });
    this.uploadInput.type = 'file';
    this.uploadInput.accept = ACCEPT[folder];
    this.uploadInput.dataset.testid = 'asset-upload';
    this.uploadInput.title = folder === 'luts' ? 'Upload a .cube LUT' : 'Upload a PNG or JPEG';
    this.uploadInput.addEventListener('change', () => void this.upload());
    this.status.dataset.testid = 'asset-error';
    this.status.className = 'error';
    this.status.hidden = true;
    const row = document.createElement('div');
    row.className = 'row';
    row.append(this.select, this.uploadInput);
    this.element.append(row, this.status);
    this.unsubscribe = library.onChange((changed) => {
      // The cards re-render on every chain change: a picker that left the page stops listening.
      if (!this.element.isConnected) return this.unsubscribe();
      if (changed === folder) void this.refresh();
    });
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    let entries: AssetEntry[];
    try {
      entries = await this.library.list(this.folder);
    } catch (error) {
      this.showError(error instanceof Error ? error.message : String(error));
      entries = [];
    }
    const options = [new Option(entries.length > 0 ? '— choose a file —' : '— no files yet: upload one —', '', false, this.current === undefined)];
    for (const entry of entries) {
      const option = new Option(entry.error ? `${entry.name} (unusable)` : describe(entry), entry.name, false, entry.name === this.current);
      option.disabled = entry.error !== undefined;
      if (entry.error) option.title = entry.error;
      options.push(option);
    }
    // A file the chain names but the folder lacks still shows, so the card tells the truth.
    if (this.current !== undefined && !entries.some((entry) => entry.name === this.current)) options.push(new Option(`${this.current} (missing)`, this.current, false, true));
    options[0]!.disabled = true;
    this.select.replaceChildren(...options);
  }

  private async upload(): Promise<void> {
    const file = this.uploadInput.files?.[0];
    if (!file) return;
    this.showError('');
    this.uploadInput.disabled = true;
    try {
      const entry = await this.library.upload(this.folder, file);
      this.current = entry.name;
      await this.refresh();
      this.onChoose(entry.name);
    } catch (error) {
      this.showError(`Upload refused: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.uploadInput.disabled = false;
      this.uploadInput.value = '';
    }
  }

  private showError(message: string): void {
    this.status.textContent = message;
    this.status.hidden = message === '';
  }
}

function describe(entry: AssetEntry): string {
  if (typeof entry.size === 'number') return `${entry.name} · ${entry.size}³`;
  if (typeof entry.width === 'number' && typeof entry.height === 'number') return `${entry.name} · ${entry.width}×${entry.height}`;
  return entry.name;
}
