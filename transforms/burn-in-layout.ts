// Layout of the machine-readable code the `burn-in` transform draws into every processed frame.
// Shared by the server (drawing), the browser pages (reading back from a <video>) and the tests,
// so this file must stay free of Node.js and DOM imports.
//
// A row of square blocks along the top-left edge of the luma plane:
//   [start marker: white] [frame number: 16 bits, MSB first] [capture time: 32 bits, ms mod 2^32]
//   [parity: 1 bit, even parity of the 48 data bits]
// White blocks are luma 235, black 16 (video range); chroma under the row is neutral.

export const BURN_IN_DATA_BITS = 48;
export const BURN_IN_BLOCKS = 1 + BURN_IN_DATA_BITS + 1;
export const BURN_IN_WHITE = 235;
export const BURN_IN_BLACK = 16;

/** Side of one block in pixels for a frame of this width: even, and small enough that the row fits. */
export function burnInBlockSize(frameWidth: number): number {
  const fit = Math.floor(frameWidth / (BURN_IN_BLOCKS + 2));
  const size = Math.max(2, Math.min(16, Math.floor(frameWidth / 64), fit));
  return size - (size % 2);
}

export interface BurnInCode {
  frameNumber: number;
  /** Capture time in ms modulo 2^32 (server clock). */
  captureMsLow: number;
}

/** The 50 block values (true = white) for a code. */
export function encodeBurnIn(code: BurnInCode, out: Uint8Array): void {
  out[0] = 1;
  let parity = 0;
  for (let i = 0; i < 16; i++) {
    const bit = (code.frameNumber >>> (15 - i)) & 1;
    out[1 + i] = bit;
    parity ^= bit;
  }
  for (let i = 0; i < 32; i++) {
    const bit = (code.captureMsLow >>> (31 - i)) & 1;
    out[17 + i] = bit;
    parity ^= bit;
  }
  out[49] = parity;
}

/**
 * Reads a code back from luma samples taken at the centre of each block (0–255).
 * Returns undefined when the start marker or the parity does not check out.
 */
export function decodeBurnIn(blockLuma: ArrayLike<number>): BurnInCode | undefined {
  if (blockLuma.length < BURN_IN_BLOCKS) return undefined;
  const threshold = (BURN_IN_WHITE + BURN_IN_BLACK) / 2;
  if (blockLuma[0]! < threshold) return undefined;
  let frameNumber = 0;
  let captureMsLow = 0;
  let parity = 0;
  for (let i = 0; i < 16; i++) {
    const bit = blockLuma[1 + i]! >= threshold ? 1 : 0;
    frameNumber = (frameNumber << 1) | bit;
    parity ^= bit;
  }
  for (let i = 0; i < 32; i++) {
    const bit = blockLuma[17 + i]! >= threshold ? 1 : 0;
    captureMsLow = ((captureMsLow << 1) | bit) >>> 0;
    parity ^= bit;
  }
  const parityBit = blockLuma[49]! >= threshold ? 1 : 0;
  if (parityBit !== parity) return undefined;
  return { frameNumber, captureMsLow };
}

/** Difference a - b of two capture times modulo 2^32, as a signed number of ms. */
export function captureMsDelta(nowMs: number, captureMsLow: number): number {
  const delta = ((Math.floor(nowMs) >>> 0) - captureMsLow) >>> 0;
  return delta > 0x7fffffff ? delta - 0x100000000 : delta;
}
