/**
 * PocketSphinx's models ship their mixture weights as `sendump`: one byte per weight, a negated log
 * (base 1.0001) shifted down by 10 bits. SphinxTrain's `bw` reads only the plain float file
 * (`mixture_weights`), so speaker adaptation turns one into the other.
 *
 * sendump: a header of length-prefixed (int32, little-endian) NUL-terminated strings ending at a
 * zero length; then, without clusters, int32 codewords and int32 pdfs; then for every feature
 * stream and codeword, one byte per pdf.
 *
 * mixture_weights (SphinxTrain's s3 format): "s3\n", attribute lines, "endhdr\n" padded so the data
 * starts 4-byte aligned, int32 0x11223344 (byte order), uint32 pdfs, streams, codewords and their
 * product, then float32 weights ordered pdf, stream, codeword.
 */

/** The sendump's shift when its header does not name one (PocketSphinx's own default). */
const DEFAULT_MIXW_SHIFT = 10;
const LOG_BASE = 1.0001;

export class SendumpFormatError extends Error {
  override readonly name = 'SendumpFormatError';
}

interface SendumpHeader {
  streams: number;
  shift: number;
  dataOffset: number;
}

function readHeader(bytes: Buffer): SendumpHeader {
  let offset = 0;
  const fields = new Map<string, string>();
  for (;;) {
    if (offset + 4 > bytes.length) throw new SendumpFormatError('sendump header is cut short');
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (length === 0) break;
    if (length > 65536 || offset + length > bytes.length) throw new SendumpFormatError('sendump header string is out of range (not a little-endian sendump?)');
    const text = bytes.toString('latin1', offset, offset + length - 1);
    offset += length;
    const [key, value] = text.split(/\s+/, 2);
    if (key !== undefined && value !== undefined) fields.set(key, value);
  }
  const number = (key: string, fallback: number): number => {
    const value = fields.get(key);
    return value === undefined ? fallback : Number(value);
  };
  if (number('cluster_count', 0) !== 0) throw new SendumpFormatError('clustered sendump weights are not supported');
  if (number('cluster_bits', 8) !== 8) throw new SendumpFormatError('only 8-bit sendump weights are supported');
  return { streams: number('feature_count', 4), shift: number('mixw_shift', DEFAULT_MIXW_SHIFT), dataOffset: offset };
}

/** The `mixture_weights` file for a model's `sendump`, each pdf's weights per stream summing to 1. */
export function mixtureWeightsFromSendump(sendump: Buffer): Buffer {
  const header = readHeader(sendump);
  let offset = header.dataOffset;
  if (offset + 8 > sendump.length) throw new SendumpFormatError('sendump has no table size');
  const codewords = sendump.readInt32LE(offset);
  const pdfs = sendump.readInt32LE(offset + 4);
  offset += 8;
  const { streams } = header;
  const count = streams * codewords * pdfs;
  if (codewords <= 0 || pdfs <= 0 || offset + count !== sendump.length) {
    throw new SendumpFormatError(`sendump table of ${streams}×${codewords}×${pdfs} does not match its ${sendump.length} bytes`);
  }
  // 256 possible bytes: the weights are a table lookup.
  const weightOf = new Float64Array(256);
  for (let value = 0; value < 256; value += 1) weightOf[value] = LOG_BASE ** -(value << header.shift);

  const prefix = 's3\nversion 1.0\n';
  const padding = (4 - ((prefix.length + 'endhdr\n'.length) % 4)) % 4;
  const text = `${prefix}${' '.repeat(padding)}endhdr\n`;
  const out = Buffer.alloc(text.length + 4 + 16 + count * 4);
  out.write(text, 0, 'latin1');
  let at = text.length;
  out.writeInt32LE(0x11223344, at);
  out.writeUInt32LE(pdfs, at + 4);
  out.writeUInt32LE(streams, at + 8);
  out.writeUInt32LE(codewords, at + 12);
  out.writeUInt32LE(count, at + 16);
  at += 20;
  const weights = new Float32Array(codewords);
  for (let pdf = 0; pdf < pdfs; pdf += 1) {
    for (let stream = 0; stream < streams; stream += 1) {
      let sum = 0;
      for (let codeword = 0; codeword < codewords; codeword += 1) {
        const weight = weightOf[sendump[offset + (stream * codewords + codeword) * pdfs + pdf]!]!;
        weights[codeword] = weight;
        sum += weight;
      }
      // The bytes round each weight; renormalising keeps the file a distribution for bw.
      for (let codeword = 0; codeword < codewords; codeword += 1) {
        out.writeFloatLE(sum > 0 ? weights[codeword]! / sum : 1 / codewords, at);
        at += 4;
      }
    }
  }
  return out;
}
