import { LivefxError } from '../core/errors.js';

/** A 3D colour lookup table from a .cube file (Resolve/Adobe format). */
export interface CubeLut {
  title: string;
  size: number;
  domainMin: [number, number, number];
  domainMax: [number, number, number];
  /** size³ RGB triples, red varying fastest (the file's order): index ((b·size + g)·size + r)·3. */
  table: Float32Array;
}

/** A .cube file that does not parse; the message names the line. */
export class CubeFileError extends LivefxError {
  override name = 'CubeFileError';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super('invalid_lut', line === undefined ? message : `line ${line}: ${message}`);
  }
}

const MIN_SIZE = 2;
const MAX_SIZE = 256;

function parseTriple(words: string[], line: number, what: string): [number, number, number] {
  if (words.length !== 3) throw new CubeFileError(`${what} needs 3 numbers, found ${words.length}`, line);
  const values = words.map(Number);
  if (values.some((value) => !Number.isFinite(value))) throw new CubeFileError(`${what} has a value that is not a number: "${words.join(' ')}"`, line);
  return values as [number, number, number];
}

/** Parses .cube text: TITLE, LUT_3D_SIZE, DOMAIN_MIN/MAX, comments, then size³ "r g b" rows. */
export function parseCubeFile(text: string): CubeLut {
  let title = '';
  let size = 0;
  let domainMin: [number, number, number] = [0, 0, 0];
  let domainMax: [number, number, number] = [1, 1, 1];
  let table: Float32Array | undefined;
  let entries = 0;
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const first = line.charCodeAt(0);
    const isData = (first >= 48 && first <= 57) || first === 45 || first === 43 || first === 46;
    if (!isData) {
      const [keyword, ...rest] = line.split(/\s+/);
      switch (keyword) {
        case 'TITLE':
          title = line.slice(5).trim().replace(/^"(.*)"$/, '$1');
          break;
        case 'LUT_3D_SIZE': {
          const value = Number(rest[0]);
          if (!Number.isInteger(value) || value < MIN_SIZE || value > MAX_SIZE) {
            throw new CubeFileError(`LUT_3D_SIZE must be a whole number from ${MIN_SIZE} to ${MAX_SIZE}, found "${rest.join(' ')}"`, lineNumber);
          }
          if (table) throw new CubeFileError('LUT_3D_SIZE appears twice or after the table started', lineNumber);
          // Each row takes at least 6 characters ("0 0 0\n"): a 20-byte file must not make us allocate 200 MB for 256³ rows.
          if (value > 32 && value ** 3 * 6 > text.length + 1) {
            throw new CubeFileError(`LUT_3D_SIZE ${value} needs ${value ** 3} table rows, more than a file of ${text.length} characters can hold (is the file truncated?)`, lineNumber);
          }
          size = value;
          table = new Float32Array(size * size * size * 3);
          break;
        }
        case 'LUT_1D_SIZE':
          throw new CubeFileError('1D LUTs are not supported: livefx needs a LUT_3D_SIZE table', lineNumber);
        case 'DOMAIN_MIN':
          domainMin = parseTriple(rest, lineNumber, 'DOMAIN_MIN');
          break;
        case 'DOMAIN_MAX':
          domainMax = parseTriple(rest, lineNumber, 'DOMAIN_MAX');
          break;
        case 'LUT_1D_INPUT_RANGE':
        case 'LUT_3D_INPUT_RANGE': {
          const [low, high] = rest.map(Number);
          if (!Number.isFinite(low) || !Number.isFinite(high)) throw new CubeFileError(`${keyword} needs 2 numbers`, lineNumber);
          domainMin = [low!, low!, low!];
          domainMax = [high!, high!, high!];
          break;
        }
        default:
          throw new CubeFileError(`unknown keyword "${keyword}"`, lineNumber);
      }
      continue;
    }
    if (!table) throw new CubeFileError('table data before LUT_3D_SIZE', lineNumber);
    if (entries === size * size * size) throw new CubeFileError(`more than the ${size ** 3} entries LUT_3D_SIZE ${size} calls for`, lineNumber);
    const triple = parseTriple(line.split(/\s+/), lineNumber, 'a table row');
    table[entries * 3] = triple[0];
    table[entries * 3 + 1] = triple[1];
    table[entries * 3 + 2] = triple[2];
    entries++;
  }
  if (!table) throw new CubeFileError('no LUT_3D_SIZE: not a 3D .cube file');
  if (entries !== size * size * size) {
    throw new CubeFileError(`expected ${size ** 3} entries for LUT_3D_SIZE ${size}, found ${entries} (is the file truncated?)`);
  }
  for (let channel = 0; channel < 3; channel++) {
    if (!(domainMax[channel]! > domainMin[channel]!)) throw new CubeFileError('DOMAIN_MAX must be greater than DOMAIN_MIN in every channel');
  }
  return { title, size, domainMin, domainMax, table };
}
