import { xorshift32 } from '../../transforms/xorshift32.js';

/** The fuzz seed: LIVEFX_FUZZ_SEED or a fixed default, so a failure can be replayed exactly. */
export const FUZZ_SEED = Number.parseInt(process.env.LIVEFX_FUZZ_SEED ?? '', 10) || 20261201;
/** Inputs per surface: LIVEFX_FUZZ_COUNT (at least 1), 1,000 by default. */
export const FUZZ_COUNT = Math.max(1, Number.parseInt(process.env.LIVEFX_FUZZ_COUNT ?? '', 10) || 1000);

/** Path traversal attempts: dot segments in every spelling, absolute paths, NUL bytes, backslashes. */
export const TRAVERSALS: readonly string[] = [
  '../',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%2e%2e/%2e%2e/etc/passwd',
  '..%252f..%252fetc%252fpasswd',
  '%252e%252e%252fetc%252fpasswd',
  '..\\..\\..\\windows\\win.ini',
  '..%5c..%5cetc%5cpasswd',
  '/etc/passwd',
  '%2fetc%2fpasswd',
  '//etc/passwd',
  'C:\\Windows\\win.ini',
  'file:///etc/passwd',
  'index.m3u8%00.ts',
  'index.m3u8\u0000',
  '%00',
  '.',
  '..',
  '...',
  '.%2e',
  '%2e.',
  '..;/',
  '....//....//etc/passwd',
  '%c0%ae%c0%ae%c0%af',
  '\u2025/\u2025/etc/passwd',
  '~/.ssh/id_rsa',
  '/proc/self/environ',
  '.git/config',
  'livefx.db',
  '../livefx.db',
  '..%2flivefx.db',
];

const UNICODE = ['é', '漢字', '😀', '\u202e', '\u200b', '\ufeff', '\ud800', '\u0000', '\u0007', '\r\n', '\t', 'Ω', '\u0301', '\uffff', '𝕏'];
const NUMBERS = [0, -0, 1, -1, 0.5, -1e-300, 1e308, -1e308, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e21, 3.999999999999, 65, 128, 255, 256, 4096, 1e9];
const NUMBER_TEXTS = ['NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '0x10', '1_000', '+5', '.5', '5.', '1e-400', '00012', '-0', '١٢٣', ' 7 ', '7abc', ''];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'a'.repeat(300), 'transforms', 'params', 'name', 'enabled', 'streamId', 'file', 'events', 't', 'type'];

/**
 * A seeded source of malformed values for fuzz tests: wrong types, extreme numbers, long and odd
 * strings, junk structures, and mutations (bit flips, truncation, splices) of real valid documents.
 * Every choice comes from one xorshift32 state, so the same seed yields the same inputs.
 */
export class FuzzInput {
  private readonly state = new Uint32Array(1);

  constructor(readonly seed: number) {
    this.state[0] = seed >>> 0 || 0x9e3779b9;
  }

  /** A new generator for one surface: surfaces do not shift each other's inputs when one changes. */
  fork(label: string): FuzzInput {
    let hash = this.seed >>> 0;
    for (let index = 0; index < label.length; index++) hash = Math.imul(hash ^ label.charCodeAt(index), 0x01000193) >>> 0;
    return new FuzzInput(hash || 1);
  }

  /** 0 ≤ value < 1. */
  next(): number {
    return xorshift32(this.state) / 0x1_0000_0000;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let index = 0; index < length; index++) out[index] = xorshift32(this.state) & 0xff;
    return out;
  }

  /** A number that is extreme, negative, fractional or just unlikely. */
  number(): number {
    switch (this.int(0, 3)) {
      case 0:
        return this.pick(NUMBERS);
      case 1:
        return -this.pick(NUMBERS);
      case 2:
        return (this.next() - 0.5) * 10 ** this.int(0, 12);
      default:
        return this.int(-1000, 1000);
    }
  }

  /** A string that is empty, huge, unicode-heavy, a traversal, a number spelled oddly, or markup. */
  string(): string {
    switch (this.int(0, 9)) {
      case 0:
        return '';
      case 1:
        return 'x'.repeat(this.pick([256, 4096, 70_000]));
      case 2:
        return Array.from({ length: this.int(1, 40) }, () => this.pick(UNICODE)).join('');
      case 3:
        return this.pick(TRAVERSALS);
      case 4:
        return this.pick(NUMBER_TEXTS);
      case 5:
        return this.pick(['<script>alert(1)</script>', '"; DROP TABLE recordings; --', '${7*7}', '{{7*7}}', '%s%s%n', '\\u0000', 'null', 'undefined', 'true']);
      case 6:
        return this.bytes(this.int(1, 64)).toString('latin1');
      case 7:
        return this.pick(KEYS);
      default:
        return Array.from({ length: this.int(1, 24) }, () => String.fromCharCode(this.int(32, 126))).join('');
    }
  }

  /** Any JSON value, nested up to `depth` levels, with hostile keys. */
  value(depth = 3): unknown {
    const kind = this.int(0, depth > 0 ? 8 : 5);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
      case 4:
        return this.string();
      case 5:
        return [];
      case 6:
        return Array.from({ length: this.int(0, 6) }, () => this.value(depth - 1));
      default: {
        const object: Record<string, unknown> = {};
        for (let count = this.int(0, 5); count > 0; count--) object[this.chance(0.4) ? this.pick(KEYS) : this.string().slice(0, 40)] = this.value(depth - 1);
        return object;
      }
    }
  }

  /** A deeply nested array or object (parser stack and recursion limits). */
  deepNest(levels = this.pick([100, 1000, 5000])): string {
    return this.chance(0.5) ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  }

  /** Mutates a valid JSON document: a field dropped, retyped, added or nested in junk (recursively, one path). */
  mutateValue(valid: unknown, depth = 0): unknown {
    if (depth > 6 || this.chance(0.15)) return this.value(2);
    if (Array.isArray(valid)) {
      const copy = [...valid];
      const action = this.int(0, 4);
      if (action === 0 && copy.length > 0) copy.splice(this.int(0, copy.length - 1), 1);
      else if (action === 1) copy.push(this.value(2));
      else if (action === 2 && copy.length > 0) {
        const index = this.int(0, copy.length - 1);
        copy[index] = this.mutateValue(copy[index], depth + 1);
      } else if (action === 3 && copy.length > 0) for (let count = this.pick([2, 20, 200]); count > 0; count--) copy.push(copy[0]);
      else return this.value(2);
      return copy;
    }
    if (valid !== null && typeof valid === 'object') {
      const copy: Record<string, unknown> = { ...(valid as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const action = this.int(0, 4);
      if (action === 0 && keys.length > 0) delete copy[this.pick(keys)];
      else if (action === 1) copy[this.chance(0.5) ? this.pick(KEYS) : this.string().slice(0, 40)] = this.value(2);
      else if (keys.length > 0 && action <= 3) {
        const key = this.pick(keys);
        copy[key] = this.mutateValue(copy[key], depth + 1);
      } else return this.value(2);
      return copy;
    }
    if (typeof valid === 'number') return this.chance(0.7) ? this.number() : this.value(1);
    if (typeof valid === 'string') return this.chance(0.7) ? this.string() : this.value(1);
    return this.value(1);
  }

  /** Mutates the bytes of a valid document: bit flips, a truncation, a spliced or repeated run, random bytes inserted. */
  mutateBytes(valid: Buffer): Buffer {
    let data = Buffer.from(valid);
    for (let rounds = this.int(1, 3); rounds > 0; rounds--) {
      switch (this.int(0, 5)) {
        case 0: {
          for (let flips = this.int(1, 16); flips > 0 && data.length > 0; flips--) {
            const at = this.int(0, data.length - 1);
            data[at] = data[at]! ^ (1 << this.int(0, 7));
          }
          break;
        }
        case 1:
          data = data.subarray(0, this.int(0, data.length));
          break;
        case 2: {
          const at = this.int(0, data.length);
          data = Buffer.concat([data.subarray(0, at), this.bytes(this.int(1, 256)), data.subarray(at)]);
          break;
        }
        case 3: {
          const from = this.int(0, data.length);
          const to = this.int(from, Math.min(data.length, from + 512));
          const times = this.pick([2, 8, 64]);
          data = Buffer.concat([data.subarray(0, to), ...Array.from({ length: times }, () => data.subarray(from, to)), data.subarray(to)]);
          break;
        }
        case 4: {
          const from = this.int(0, data.length);
          data = Buffer.concat([data.subarray(0, from), data.subarray(Math.min(data.length, from + this.int(1, 512)))]);
          break;
        }
        default: {
          // Overwrite a run with a hostile value: zeros, 0xff, or a huge length in text.
          const at = this.int(0, Math.max(0, data.length - 8));
          data = Buffer.from(data);
          this.pick([Buffer.alloc(8), Buffer.alloc(8, 0xff), Buffer.from('99999999'), Buffer.from('-1e400  '), Buffer.from('NaN\n\n\n\n\n')]).copy(data, at);
        }
      }
    }
    return data;
  }

  /** Mutates a line-based text document (SDP, .cube): lines dropped, duplicated, swapped, rewritten; then maybe bytes. */
  mutateLines(valid: string, separator = '\n'): string {
    const lines = valid.split(separator);
    for (let rounds = this.int(1, 4); rounds > 0; rounds--) {
      const at = this.int(0, Math.max(0, lines.length - 1));
      switch (this.int(0, 6)) {
        case 0:
          lines.splice(at, 1);
          break;
        case 1:
          lines.splice(at, 0, ...Array.from({ length: this.pick([1, 5, 500]) }, () => lines[at] ?? ''));
          break;
        case 2: {
          const other = this.int(0, Math.max(0, lines.length - 1));
          [lines[at], lines[other]] = [lines[other] ?? '', lines[at] ?? ''];
          break;
        }
        case 3: {
          // Keep the line's key and give it a hostile value: "a=rtpmap:<junk>", "LUT_3D_SIZE <junk>".
          const line = lines[at] ?? '';
          const cut = Math.max(line.search(/[:= ]/) + 1, 0);
          lines[at] = `${line.slice(0, cut)}${this.chance(0.5) ? String(this.number()) : this.string().slice(0, 2000)}`;
          break;
        }
        case 4:
          lines.splice(at, 0, this.string().slice(0, 2000));
          break;
        case 5:
          lines.length = at;
          break;
        default:
          lines[at] = (lines[at] ?? '').replace(/\d+/g, () => String(this.pick([0, -1, 65535, 65536, 2 ** 32, 1e21, 999999999])));
      }
    }
    const text = lines.join(this.chance(0.9) ? separator : this.pick(['\n', '\r\n', '\r', '']));
    return this.chance(0.2) ? this.mutateBytes(Buffer.from(text)).toString('latin1') : text;
  }
}

/** Percent-encodes like encodeURIComponent, but a lone surrogate becomes its (invalid) WTF-8 bytes instead of throwing. */
export function encodeLoose(value: string): string {
  return value.replace(/\p{Cs}|[^\p{Cs}]+/gu, (run) =>
    /\p{Cs}/u.test(run) ? Buffer.from([0xed, 0xa0 | ((run.charCodeAt(0) >> 6) & 0x1f), 0x80 | (run.charCodeAt(0) & 0x3f)]).toString('hex').replace(/../g, '%$&') : encodeURIComponent(run),
  );
}

/** Runs `work` for each of `count` inputs, at most `concurrency` at a time. */
export async function runBounded(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let nextIndex = 0;
  const lane = async (): Promise<void> => {
    while (nextIndex < count) await work(nextIndex++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
