import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mixtureWeightsFromSendump, SendumpFormatError } from '../transforms/subtitles/engines/pocketsphinx/sendump-weights.js';
import { DEBIAN_MODEL } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-library.js';

/** A sendump as PocketSphinx's tools write it: length-prefixed strings, a zero, the sizes, one byte per weight. */
function sendump(header: string[], codewords: number, pdfs: number, bytes: number[]): Buffer {
  const parts: Buffer[] = [];
  for (const text of ['title', ...header]) {
    const value = Buffer.from(`${text}\0`, 'latin1');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(value.length);
    parts.push(length, value);
  }
  const sizes = Buffer.alloc(12);
  sizes.writeUInt32LE(0, 0);
  sizes.writeInt32LE(codewords, 4);
  sizes.writeInt32LE(pdfs, 8);
  return Buffer.concat([...parts, sizes, Buffer.from(bytes)]);
}

/** The float weights of an s3 mixture_weights file, after its header and five int32s. */
function readWeights(file: Buffer): { sizes: number[]; weights: Float32Array } {
  const start = file.indexOf('endhdr\n') + 'endhdr\n'.length;
  expect(start % 4).toBe(0);
  expect(file.readInt32LE(start)).toBe(0x11223344);
  const sizes = [1, 2, 3, 4].map((index) => file.readUInt32LE(start + index * 4));
  const data = file.subarray(start + 20);
  return { sizes, weights: new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

describe('sendump → mixture_weights (what SphinxTrain needs for speaker adaptation)', () => {
  it('unpacks each weight as 1.0001^-(byte << 10), per pdf and stream, normalised to sum to 1', () => {
    // 1 stream, 2 codewords, 3 pdfs; the bytes run codeword by codeword across the pdfs.
    const file = mixtureWeightsFromSendump(sendump(['feature_count 1'], 2, 3, [0, 10, 3, 0, 0, 20]));
    const { sizes, weights } = readWeights(file);
    expect(sizes).toEqual([3, 1, 2, 6]);
    const raw = (byte: number): number => 1.0001 ** -(byte << 10);
    const pairs: [number, number][] = [[0, 0], [10, 0], [3, 20]];
    pairs.forEach(([a, b], pdf) => {
      expect(weights[pdf * 2]).toBeCloseTo(raw(a) / (raw(a) + raw(b)), 6);
      expect(weights[pdf * 2 + 1]).toBeCloseTo(raw(b) / (raw(a) + raw(b)), 6);
    });
    expect(weights[0]).toBeCloseTo(0.5, 6);
    // Byte 10 is a weight of e^-1.024 ≈ 0.36 against 1.
    expect(weights[2]).toBeCloseTo(0.264, 3);
  });

  it("converts Debian's en-us model: 5126 pdfs × 3 streams × 128 codewords, every distribution summing to 1", () => {
    const { sizes, weights } = readWeights(mixtureWeightsFromSendump(readFileSync(`${DEBIAN_MODEL.acousticModel}/sendump`)));
    expect(sizes).toEqual([5126, 3, 128, 5126 * 3 * 128]);
    for (let distribution = 0; distribution < 5126 * 3; distribution += 97) {
      let sum = 0;
      for (let codeword = 0; codeword < 128; codeword += 1) sum += weights[distribution * 128 + codeword]!;
      expect(sum).toBeCloseTo(1, 4);
    }
  });

  it('refuses a file that is not a sendump, or is cut short, naming the problem', () => {
    expect(() => mixtureWeightsFromSendump(Buffer.from('not a model file at all'))).toThrow(SendumpFormatError);
    expect(() => mixtureWeightsFromSendump(sendump(['feature_count 1'], 2, 3, [0, 10, 3]))).toThrow(/sendump table of 1×2×3 does not match its \d+ bytes/);
    expect(() => mixtureWeightsFromSendump(sendump(['feature_count 1', 'cluster_count 16'], 2, 3, [0, 0, 0, 0, 0, 0]))).toThrow(/clustered sendump weights are not supported/);
  });
});
