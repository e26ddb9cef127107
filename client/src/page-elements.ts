import type { StreamStats } from '../../server/streams/stream-view.js';

/** The element with this data-testid; a page without it is a bug, so fail loudly. */
export function byTestId<T extends HTMLElement = HTMLElement>(testId: string): T {
  const element = document.querySelector<T>(`[data-testid="${testId}"]`);
  if (!element) throw new Error(`page has no [data-testid="${testId}"]`);
  return element;
}

export function queryParam(name: string): string | undefined {
  return new URLSearchParams(location.search).get(name) ?? undefined;
}

export function formatBitrate(bitsPerSecond: number): string {
  return bitsPerSecond >= 1e6 ? `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bitsPerSecond / 1e3)} kbit/s`;
}

/** The server's note on the publisher's input: what it sends and which limit acts on it ("1920×1080 → scaled down, …"). */
export function inputLimitsNote(input: StreamStats['input'] | undefined): string {
  if (!input || input.width === 0) return '—';
  const notes = input.limited.map((limit) =>
    limit === 'resolution' ? 'scaled down' : limit === 'fps' ? 'frames over the fps limit dropped' : 'bitrate over the limit (asked to lower)',
  );
  return `${input.width}×${input.height} · ${input.fps} fps · ${input.kbps} kbit/s${notes.length > 0 ? ` → ${notes.join(', ')}` : ' (within limits)'}`;
}

/** Fills a definition list with label → value rows. */
export function renderStats(container: HTMLElement, rows: [string, string][]): void {
  container.replaceChildren(
    ...rows.flatMap(([label, value]) => {
      const term = document.createElement('dt');
      term.textContent = label;
      const detail = document.createElement('dd');
      detail.textContent = value;
      return [term, detail];
    }),
  );
}

/** A remembered setting; storage may be off (private mode), and then nothing is remembered. */
export function readSetting(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Remembers a setting when storage is on; otherwise the choice lasts for this page only. */
export function writeSetting(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage is off: nothing to remember it in
  }
}

/** A new element with its class and text. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Shows a message in the target, or hides it when there is none. */
export function showError(target: HTMLElement, message: string | null): void {
  target.textContent = message ?? '';
  target.hidden = !message;
}
