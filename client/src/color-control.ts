const HEX = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i;

/**
 * A colour parameter (`#rrggbb`, or `#rrggbbaa` where the schema allows alpha): a colour picker,
 * an opacity slider when there is alpha (pickers drop it), and the resulting value as text.
 */
export class ColorControl {
  readonly element = document.createElement('div');
  private readonly picker = document.createElement('input');
  private readonly alpha = document.createElement('input');
  private readonly readout = document.createElement('output');

  constructor(
    name: string,
    value: string,
    private readonly withAlpha: boolean,
    private readonly onChange: (value: string) => void,
  ) {
    const match = HEX.exec(value);
    this.element.className = 'color-control';
    this.picker.type = 'color';
    this.picker.dataset.testid = `param-${name}`;
    this.picker.value = `#${(match?.[1] ?? '000000').toLowerCase()}`;
    this.picker.addEventListener('input', () => this.changed());
    this.element.append(this.picker);
    if (withAlpha) {
      this.alpha.type = 'range';
      this.alpha.min = '0';
      this.alpha.max = '255';
      this.alpha.step = '1';
      // An empty value means "none" (e.g. no text box): the same as fully transparent.
      this.alpha.value = String(match ? (match[2] === undefined ? 255 : parseInt(match[2], 16)) : 0);
      this.alpha.dataset.testid = `param-${name}-alpha`;
      this.alpha.title = 'opacity';
      this.alpha.addEventListener('input', () => this.changed());
      this.element.append(this.alpha);
    }
    this.readout.textContent = value === '' ? 'none' : value;
    this.element.append(this.readout);
  }

  get value(): string {
    if (!this.withAlpha) return this.picker.value;
    return `${this.picker.value}${Number(this.alpha.value).toString(16).padStart(2, '0')}`;
  }

  private changed(): void {
    this.readout.textContent = this.value;
    this.onChange(this.value);
  }
}

/** Whether a string parameter's JSON Schema describes a hex colour, and whether it carries alpha. */
export function colorKind(schema: { type?: string; pattern?: string; default?: unknown }): 'rgb' | 'rgba' | undefined {
  if (schema.type !== 'string') return undefined;
  const pattern = schema.pattern ?? '';
  if (/\{8\}|\{2\}\)\?/.test(pattern)) return 'rgba';
  if (/\{6\}/.test(pattern)) return 'rgb';
  if (typeof schema.default === 'string' && HEX.test(schema.default)) return schema.default.length === 9 ? 'rgba' : 'rgb';
  return undefined;
}
