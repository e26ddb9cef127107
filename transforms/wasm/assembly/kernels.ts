// AssemblyScript, compiled to WebAssembly with 128-bit SIMD by `npm run build` (asconfig.json beside
// this folder). Every pointer is a byte offset into the one imported memory; the TypeScript wrappers
// in transforms/wasm/ own the allocations. Each kernel gives the same bytes as its reference in
// transforms/*.ts: the maths is the same integer maths, only done 16 samples at a time.

/** Where static data ends: the wrappers allocate above it. */
export function heapBase(): usize {
  return __heap_base;
}

/** Four samples through a 256-byte table by scalar reads: one word in, one word out. */
// @ts-ignore: decorator
@inline
function mapWord(source: usize, target: usize, table: usize): void {
  const word = load<u32>(source);
  const low = <u32>load<u8>(table + <usize>(word & 255)) | (<u32>load<u8>(table + <usize>((word >> 8) & 255)) << 8);
  store<u32>(target, low | (<u32>load<u8>(table + <usize>((word >> 16) & 255)) << 16) | (<u32>load<u8>(table + <usize>(word >> 24)) << 24));
}

/**
 * color (and sketch's full-range copy): target[i] = table[source[i]] for a 256-byte table. Per 24
 * samples, 16 by 16 swizzles of 16 entries, and 8 by scalar reads: the swizzles keep the shuffle
 * unit busy and the reads the load ports, so both run at once (0.40 ms a 720p frame against 0.50
 * for swizzles alone).
 */
export function mapPlane(source: usize, target: usize, length: i32, table: usize): void {
  const t0 = v128.load(table);
  const t1 = v128.load(table, 16);
  const t2 = v128.load(table, 32);
  const t3 = v128.load(table, 48);
  const t4 = v128.load(table, 64);
  const t5 = v128.load(table, 80);
  const t6 = v128.load(table, 96);
  const t7 = v128.load(table, 112);
  const t8 = v128.load(table, 128);
  const t9 = v128.load(table, 144);
  const t10 = v128.load(table, 160);
  const t11 = v128.load(table, 176);
  const t12 = v128.load(table, 192);
  const t13 = v128.load(table, 208);
  const t14 = v128.load(table, 224);
  const t15 = v128.load(table, 240);
  const sixteen = i8x16.splat(16);
  let index = 0;
  for (; index + 24 <= length; index += 24) {
    // An index outside 0…15 makes swizzle give 0, so each sub-table fills only its own lanes.
    const from = source + <usize>index;
    const to = target + <usize>index;
    let lanes = v128.load(from);
    let out = i8x16.swizzle(t0, lanes);
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t1, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t2, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t3, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t4, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t5, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t6, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t7, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t8, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t9, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t10, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t11, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t12, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t13, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t14, lanes));
    lanes = i8x16.sub(lanes, sixteen);
    out = v128.or(out, i8x16.swizzle(t15, lanes));
    // In place every sample is read before it is written: 0…15 above, 16…23 here, then 0…15 stored.
    mapWord(from + 16, to + 16, table);
    mapWord(from + 20, to + 20, table);
    v128.store(to, out);
  }
  for (; index < length; index++) store<u8>(target + <usize>index, load<u8>(table + <usize>load<u8>(source + <usize>index)));
}

// lut3d: the layout of transforms/lut3d.ts's YUV tables.
const CHROMA_LEVELS: i32 = 65;
const CELL: i32 = 256;
const U_STRIDE: i32 = CHROMA_LEVELS * CELL;
const PACKED_HALF: i32 = 8 | (8 << 16);
/** Cells of the interleaved tables: every (U level, V level) that has a right and a lower neighbour. */
const CELLS_PER_SIDE: i32 = CHROMA_LEVELS - 1;

/**
 * lut3d's tables re-laid for the kernel: for each cell (U level, V level) and input Y, the four
 * neighbour cells' entries side by side, so a pixel reads one word of luma (4 bytes: 00, 01, 10, 11)
 * and a block one 16-byte vector of chroma, from one cache line, where the reference's layout reads
 * four lines apart. `luma4`: 64 × 64 × 256 u32; `chroma4`: 64 × 64 × 256 × 4 i32.
 */
export function interleaveLut3d(lumaTable: usize, chromaTable: usize, luma4: usize, chroma4: usize): void {
  for (let uLevel = 0; uLevel < CELLS_PER_SIDE; uLevel++) {
    for (let vLevel = 0; vLevel < CELLS_PER_SIDE; vLevel++) {
      const c00 = <usize>((uLevel * CHROMA_LEVELS + vLevel) * CELL);
      const cell = <usize>((uLevel * CELLS_PER_SIDE + vLevel) * CELL);
      const l00 = lumaTable + c00;
      const k00 = chromaTable + (c00 << 2);
      for (let y: usize = 0; y < <usize>CELL; y++) {
        const word = <u32>load<u8>(l00 + y) | (<u32>load<u8>(l00 + <usize>CELL + y) << 8) | (<u32>load<u8>(l00 + <usize>U_STRIDE + y) << 16) | (<u32>load<u8>(l00 + <usize>(U_STRIDE + CELL) + y) << 24);
        store<u32>(luma4 + ((cell + y) << 2), word);
        const at = chroma4 + ((cell + y) << 4);
        store<i32>(at, load<i32>(k00 + (y << 2)));
        store<i32>(at, load<i32>(k00 + ((<usize>CELL + y) << 2)), 4);
        store<i32>(at, load<i32>(k00 + ((<usize>U_STRIDE + y) << 2)), 8);
        store<i32>(at, load<i32>(k00 + ((<usize>(U_STRIDE + CELL) + y) << 2)), 12);
      }
    }
  }
}

/**
 * The bilinear weights in sixteenths of the four cells (00, 01, 10, 11) for each U and V fraction
 * (0…3): `weights` receives 16 vectors of i16 (the four weights twice) then 16 of i32 (once).
 */
export function lut3dWeights(weights: usize): void {
  for (let uFraction = 0; uFraction < 4; uFraction++) {
    for (let vFraction = 0; vFraction < 4; vFraction++) {
      const index = <usize>((uFraction << 2) | vFraction);
      const w00 = (4 - uFraction) * (4 - vFraction);
      const w01 = (4 - uFraction) * vFraction;
      const w10 = uFraction * (4 - vFraction);
      const w11 = uFraction * vFraction;
      const short = i16x8.replace_lane(i16x8.replace_lane(i16x8.replace_lane(i16x8.splat(<i16>w00), 1, <i16>w01), 2, <i16>w10), 3, <i16>w11);
      v128.store(weights + (index << 4), i16x8.shuffle(short, short, 0, 1, 2, 3, 0, 1, 2, 3));
      v128.store(weights + <usize>256 + (index << 4), i32x4.extend_low_i16x8_u(short));
    }
  }
}

/**
 * lut3d: each 2×2 block reads its four chroma cells (weights in sixteenths), as Lut3d.apply does,
 * from the interleaved tables: the four pixels' words are gathered into one vector, and one dot
 * product per pair of cells weighs them; the block's chroma is one vector times its weights.
 */
export function lut3d(y: usize, u: usize, v: usize, width: i32, height: i32, luma4: usize, chroma4: usize, weights: usize): void {
  const chromaWidth = (width + 1) >> 1;
  const pairs = width >> 1;
  const eight = i32x4.splat(8);
  for (let row = 0; row + 1 < height; row += 2) {
    let top = y + <usize>(row * width);
    let bottom = top + <usize>width;
    let chromaIndex = <usize>((row >> 1) * chromaWidth);
    for (let pair = 0; pair < pairs; pair++, chromaIndex++, top += 2, bottom += 2) {
      const uValue = <u32>load<u8>(u + chromaIndex);
      const vValue = <u32>load<u8>(v + chromaIndex);
      const fractions = <usize>(((uValue & 3) << 2) | (vValue & 3));
      const cell = luma4 + (<usize>(((uValue >> 2) * <u32>CELLS_PER_SIDE + (vValue >> 2)) << 10));
      const a = <usize>load<u8>(top);
      const b = <usize>load<u8>(top, 1);
      const c = <usize>load<u8>(bottom);
      const d = <usize>load<u8>(bottom, 1);
      let words = v128.load32_zero(cell + (a << 2));
      words = v128.load32_lane(cell + (b << 2), words, 1);
      words = v128.load32_lane(cell + (c << 2), words, 2);
      words = v128.load32_lane(cell + (d << 2), words, 3);
      const lumaWeights = v128.load(weights + (fractions << 4));
      const topPair = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(words), lumaWeights);
      const bottomPair = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(words), lumaWeights);
      const sums = i32x4.add(i32x4.shuffle(topPair, bottomPair, 0, 2, 4, 6), i32x4.shuffle(topPair, bottomPair, 1, 3, 5, 7));
      const luma = i32x4.shr_u(i32x4.add(sums, eight), 4);
      const bytes = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(luma, luma), i16x8.splat(0));
      v128.store16_lane(top, bytes, 0);
      v128.store16_lane(bottom, bytes, 1);
      const mean = <usize>((<u32>(a + b + c + d) + 2) >> 2);
      const products = i32x4.mul(v128.load(chroma4 + ((((cell - luma4) >> 2) + mean) << 4)), v128.load(weights + <usize>256 + (fractions << 4)));
      const halves = i32x4.add(products, i32x4.shuffle(products, products, 2, 3, 0, 1));
      const packed = i32x4.extract_lane(halves, 0) + i32x4.extract_lane(halves, 1) + PACKED_HALF;
      store<u8>(u + chromaIndex, (packed & 0xffff) >> 4);
      store<u8>(v + chromaIndex, <u32>packed >>> 20);
    }
    if (width & 1) lut3dEdgeBlock(y, u, v, width, height, luma4, chroma4, row, width - 1);
  }
  if (height & 1) for (let column = 0; column < width; column += 2) lut3dEdgeBlock(y, u, v, width, height, luma4, chroma4, height - 1, column);
}

/** One block of 1 or 2 pixels at the right or bottom edge of an odd-sized frame (Lut3d's applyBlock). */
function lut3dEdgeBlock(y: usize, u: usize, v: usize, width: i32, height: i32, luma4: usize, chroma4: usize, row: i32, column: i32): void {
  const chromaIndex = <usize>((row >> 1) * ((width + 1) >> 1) + (column >> 1));
  const uValue = <i32>load<u8>(u + chromaIndex);
  const vValue = <i32>load<u8>(v + chromaIndex);
  const uFraction = uValue & 3;
  const vFraction = vValue & 3;
  const w00 = (4 - uFraction) * (4 - vFraction);
  const w01 = (4 - uFraction) * vFraction;
  const w10 = uFraction * (4 - vFraction);
  const w11 = uFraction * vFraction;
  const cell = <usize>(((uValue >> 2) * CELLS_PER_SIDE + (vValue >> 2)) * CELL);
  let sum = 0;
  let count = 0;
  for (let dy = 0; dy < 2 && row + dy < height; dy++) {
    for (let dx = 0; dx < 2 && column + dx < width; dx++) {
      const at = y + <usize>((row + dy) * width + column + dx);
      const luma = <usize>load<u8>(at);
      sum += <i32>luma;
      count++;
      const word = load<u32>(luma4 + ((cell + luma) << 2));
      store<u8>(at, (w00 * <i32>(word & 255) + w01 * <i32>((word >> 8) & 255) + w10 * <i32>((word >> 16) & 255) + w11 * <i32>(word >> 24) + 8) >> 4);
    }
  }
  // Math.round of a positive mean, in integers.
  const mean = <usize>((2 * sum + count) / (2 * count));
  const k = chroma4 + ((cell + mean) << 4);
  const packed = w00 * load<i32>(k) + w01 * load<i32>(k, 4) + w10 * load<i32>(k, 8) + w11 * load<i32>(k, 12) + PACKED_HALF;
  store<u8>(u + chromaIndex, (packed & 0xffff) >> 4);
  store<u8>(v + chromaIndex, <u32>packed >>> 20);
}

/** Adds a row of `width` samples to u16 column sums, 16 at a time. */
function addRowToSums(sums: usize, row: usize, width: i32): void {
  let column = 0;
  for (; column + 16 <= width; column += 16) {
    const pixels = v128.load(row + <usize>column);
    const at = sums + (<usize>column << 1);
    v128.store(at, i16x8.add(v128.load(at), i16x8.extend_low_i8x16_u(pixels)));
    v128.store(at, i16x8.add(v128.load(at, 16), i16x8.extend_high_i8x16_u(pixels)), 16);
  }
  for (; column < width; column++) {
    const at = sums + (<usize>column << 1);
    store<u16>(at, load<u16>(at) + <u16>load<u8>(row + <usize>column));
  }
}

/** Slides i32 column sums down one row: + the entering row, − the leaving one, 16 columns at a time. */
function slideColumnSums(sums: usize, entering: usize, leaving: usize, width: i32): void {
  let column = 0;
  for (; column + 16 <= width; column += 16) {
    const incoming = v128.load(entering + <usize>column);
    const outgoing = v128.load(leaving + <usize>column);
    const low = i16x8.sub(i16x8.extend_low_i8x16_u(incoming), i16x8.extend_low_i8x16_u(outgoing));
    const high = i16x8.sub(i16x8.extend_high_i8x16_u(incoming), i16x8.extend_high_i8x16_u(outgoing));
    const at = sums + (<usize>column << 2);
    v128.store(at, i32x4.add(v128.load(at), i32x4.extend_low_i16x8_s(low)));
    v128.store(at, i32x4.add(v128.load(at, 16), i32x4.extend_high_i16x8_s(low)), 16);
    v128.store(at, i32x4.add(v128.load(at, 32), i32x4.extend_low_i16x8_s(high)), 32);
    v128.store(at, i32x4.add(v128.load(at, 48), i32x4.extend_high_i16x8_s(high)), 48);
  }
  for (; column < width; column++) {
    const at = sums + (<usize>column << 2);
    store<i32>(at, load<i32>(at) + <i32>load<u8>(entering + <usize>column) - <i32>load<u8>(leaving + <usize>column));
  }
}

/**
 * pixelate: each block row's column sums are gathered 16 columns at a time in 16-bit lanes (a
 * block of 128 rows stays under 65536), then each block's mean fills the row, which is copied down.
 * `columnSums` holds width rounded up to 16 u16 values.
 */
export function pixelatePlane(plane: usize, width: i32, height: i32, block: i32, columnSums: usize): void {
  const paddedWidth = (width + 15) & ~15;
  for (let top = 0; top < height; top += block) {
    const bottom = min(height, top + block);
    memory.fill(columnSums, 0, <usize>(paddedWidth << 1));
    for (let row = top; row < bottom; row++) {
      addRowToSums(columnSums, plane + <usize>(row * width), width);
    }
    const first = plane + <usize>(top * width);
    const rows = bottom - top;
    for (let left = 0; left < width; left += block) {
      const right = min(width, left + block);
      let sum = 0;
      for (let column = left; column < right; column++) sum += <i32>load<u16>(columnSums + <usize>(column << 1));
      const count = rows * (right - left);
      memory.fill(first + <usize>left, <u8>((2 * sum + count) / (2 * count)), <usize>(right - left));
    }
    for (let row = top + 1; row < bottom; row++) memory.copy(plane + <usize>(row * width), first, <usize>width);
  }
}

/** vignette: sample = centre + (((sample − centre) · gain) >> 8) with 8.8 gains, 16 samples per step. */
export function scaleAround(plane: usize, gains: usize, length: i32, centre: i32): void {
  const centreLanes = i16x8.splat(<i16>centre);
  let index = 0;
  for (; index + 16 <= length; index += 16) {
    const at = plane + <usize>index;
    const pixels = v128.load(at);
    const low = i16x8.sub(i16x8.extend_low_i8x16_u(pixels), centreLanes);
    const high = i16x8.sub(i16x8.extend_high_i8x16_u(pixels), centreLanes);
    const gainLow = v128.load(gains + <usize>(index << 1));
    const gainHigh = v128.load(gains + <usize>(index << 1), 16);
    const a = i32x4.shr_s(i32x4.extmul_low_i16x8_s(low, gainLow), 8);
    const b = i32x4.shr_s(i32x4.extmul_high_i16x8_s(low, gainLow), 8);
    const c = i32x4.shr_s(i32x4.extmul_low_i16x8_s(high, gainHigh), 8);
    const d = i32x4.shr_s(i32x4.extmul_high_i16x8_s(high, gainHigh), 8);
    v128.store(at, i8x16.narrow_i16x8_u(i16x8.add(i16x8.narrow_i32x4_s(a, b), centreLanes), i16x8.add(i16x8.narrow_i32x4_s(c, d), centreLanes)));
  }
  for (; index < length; index++) {
    const at = plane + <usize>index;
    store<u8>(at, centre + (((<i32>load<u8>(at) - centre) * <i32>load<u16>(gains + <usize>(index << 1))) >> 8));
  }
}

/**
 * grain: adds a 256×256 tile of 16-bit noise to luma, clamped to 0…255, read from (offsetX,
 * offsetY) and wrapping. Each tile row is stored twice over (512 values), so a run of 256 never wraps.
 */
export function addGrain(y: usize, width: i32, height: i32, noise: usize, offsetX: i32, offsetY: i32): void {
  for (let row = 0; row < height; row++) {
    const start = y + <usize>(row * width);
    const noiseRow = noise + <usize>((((row + offsetY) & 255) * 512) << 1);
    for (let column = 0; column < width; ) {
      const run = min(width - column, 256);
      const pixels = start + <usize>column;
      const grain = noiseRow + <usize>(((column + offsetX) & 255) << 1);
      let index = 0;
      for (; index + 16 <= run; index += 16) {
        const at = pixels + <usize>index;
        const values = v128.load(at);
        const noiseAt = grain + <usize>(index << 1);
        const low = i16x8.add(i16x8.extend_low_i8x16_u(values), v128.load(noiseAt));
        const high = i16x8.add(i16x8.extend_high_i8x16_u(values), v128.load(noiseAt, 16));
        v128.store(at, i8x16.narrow_i16x8_u(low, high));
      }
      for (; index < run; index++) {
        const at = pixels + <usize>index;
        const value = <i32>load<u8>(at) + <i32>load<i16>(grain + <usize>(index << 1));
        store<u8>(at, value < 0 ? 0 : value > 255 ? 255 : value);
      }
      column += run;
    }
  }
}

/**
 * Overlay alpha blend: target = (target·(255 − a) + source·a + 127) / 255, rounded down, for
 * `rows` rows of `columns` samples. (x + 1 + (x >> 8)) >> 8 is x / 255 for every x up to 65152.
 */
export function blendRows(target: usize, targetStride: i32, source: usize, alpha: usize, sourceStride: i32, columns: i32, rows: i32): void {
  const opaque = i8x16.splat(-1);
  const half = i16x8.splat(127);
  const one = i16x8.splat(1);
  for (let row = 0; row < rows; row++) {
    const targetRow = target + <usize>(row * targetStride);
    const sourceRow = source + <usize>(row * sourceStride);
    const alphaRow = alpha + <usize>(row * sourceStride);
    let column = 0;
    for (; column + 16 <= columns; column += 16) {
      const at = targetRow + <usize>column;
      const frame = v128.load(at);
      const overlay = v128.load(sourceRow + <usize>column);
      const weight = v128.load(alphaRow + <usize>column);
      const inverse = i8x16.sub(opaque, weight);
      const low = i16x8.add(i16x8.add(i16x8.extmul_low_i8x16_u(frame, inverse), i16x8.extmul_low_i8x16_u(overlay, weight)), half);
      const high = i16x8.add(i16x8.add(i16x8.extmul_high_i8x16_u(frame, inverse), i16x8.extmul_high_i8x16_u(overlay, weight)), half);
      const lowOut = i16x8.shr_u(i16x8.add(i16x8.add(low, one), i16x8.shr_u(low, 8)), 8);
      const highOut = i16x8.shr_u(i16x8.add(i16x8.add(high, one), i16x8.shr_u(high, 8)), 8);
      v128.store(at, i8x16.narrow_i16x8_u(lowOut, highOut));
    }
    for (; column < columns; column++) {
      const a = <i32>load<u8>(alphaRow + <usize>column);
      if (a == 0) continue;
      const at = targetRow + <usize>column;
      store<u8>(at, (<i32>load<u8>(at) * (255 - a) + <i32>load<u8>(sourceRow + <usize>column) * a + 127) / 255);
    }
  }
}

// toon (transforms/toon.ts) and the half-resolution scalers (transforms/half-resolution.ts).
const CENTRE_WEIGHT: u32 = 128;
const RECIPROCAL_BITS: u32 = 21;

/** 2×2 box average into a ceil(width/2)×ceil(height/2) plane (edges replicated), 16 outputs per step. */
export function downscalePlane(source: usize, width: i32, height: i32, target: usize): void {
  const halfWidth = (width + 1) >> 1;
  const halfHeight = (height + 1) >> 1;
  const evenWidth = width & ~1;
  const two = i16x8.splat(2);
  for (let row = 0; row < halfHeight; row++) {
    const top = source + <usize>(2 * row * width);
    const bottom = 2 * row + 1 < height ? top + <usize>width : top;
    const out = target + <usize>(row * halfWidth);
    let x = 0;
    for (; x + 32 <= evenWidth; x += 32) {
      const first = i16x8.add(i16x8.extadd_pairwise_i8x16_u(v128.load(top + <usize>x)), i16x8.extadd_pairwise_i8x16_u(v128.load(bottom + <usize>x)));
      const second = i16x8.add(i16x8.extadd_pairwise_i8x16_u(v128.load(top + <usize>x, 16)), i16x8.extadd_pairwise_i8x16_u(v128.load(bottom + <usize>x, 16)));
      v128.store(out + <usize>(x >> 1), i8x16.narrow_i16x8_u(i16x8.shr_u(i16x8.add(first, two), 2), i16x8.shr_u(i16x8.add(second, two), 2)));
    }
    for (; x < evenWidth; x += 2) {
      const at = <usize>x;
      store<u8>(out + (at >> 1), (<i32>load<u8>(top + at) + <i32>load<u8>(top + at + 1) + <i32>load<u8>(bottom + at) + <i32>load<u8>(bottom + at + 1) + 2) >> 2);
    }
    if (evenWidth < width) store<u8>(out + <usize>(evenWidth >> 1), (<i32>load<u8>(top + <usize>evenWidth) + <i32>load<u8>(bottom + <usize>evenWidth) + 1) >> 1);
  }
}

/**
 * Bilinear 2× upscale of a ceil(width/2)×ceil(height/2) plane back to width×height (weights 3/4
 * and 1/4 each way); `scratch` holds one row of vertical blends, half width + 2 u16 values.
 */
export function upscalePlane(source: usize, width: i32, height: i32, target: usize, scratch: usize): void {
  const halfWidth = (width + 1) >> 1;
  const halfHeight = (height + 1) >> 1;
  const lastHalfRow = halfHeight - 1;
  const evenWidth = width & ~1;
  const three = i16x8.splat(3);
  for (let row = 0; row < height; row++) {
    const near = row >> 1;
    const far = (row & 1) == 0 ? (near > 0 ? near - 1 : 0) : near < lastHalfRow ? near + 1 : lastHalfRow;
    const nearRow = source + <usize>(near * halfWidth);
    const farRow = source + <usize>(far * halfWidth);
    let column = 0;
    for (; column + 8 <= halfWidth; column += 8) {
      const blended = i16x8.add(i16x8.mul(v128.load8x8_u(nearRow + <usize>column), three), v128.load8x8_u(farRow + <usize>column));
      v128.store(scratch + <usize>((column + 1) << 1), blended);
    }
    for (; column < halfWidth; column++) store<u16>(scratch + <usize>((column + 1) << 1), 3 * <u32>load<u8>(nearRow + <usize>column) + <u32>load<u8>(farRow + <usize>column));
    store<u16>(scratch, load<u16>(scratch, 2));
    store<u16>(scratch + <usize>((halfWidth + 1) << 1), load<u16>(scratch + <usize>(halfWidth << 1)));
    const out = target + <usize>(row * width);
    let at = scratch + 2;
    for (let x = 0; x < evenWidth; x += 2, at += 2) {
      const centre = 3 * <u32>load<u16>(at);
      store<u8>(out + <usize>x, (centre + <u32>load<u16>(at - 2) + 8) >> 4);
      store<u8>(out + <usize>x, (centre + <u32>load<u16>(at, 2) + 8) >> 4, 1);
    }
    if (evenWidth < width) store<u8>(out + <usize>evenWidth, (3 * <u32>load<u16>(at) + <u32>load<u16>(at - 2) + 8) >> 4);
  }
}

/** One output of the toon smoothing: the weighted mean of a sample and its four neighbours. */
// @ts-ignore: decorator
@inline
function smoothSample(centre: u32, left: u32, right: u32, up: u32, down: u32, weights: usize, reciprocals: usize): u32 {
  const offset = weights + 255 - <usize>centre;
  const leftWeight = <u32>load<u8>(offset + <usize>left);
  const rightWeight = <u32>load<u8>(offset + <usize>right);
  const upWeight = <u32>load<u8>(offset + <usize>up);
  const downWeight = <u32>load<u8>(offset + <usize>down);
  const sum = CENTRE_WEIGHT * centre + leftWeight * left + rightWeight * right + upWeight * up + downWeight * down;
  return (sum * load<u32>(reciprocals + (<usize>(leftWeight + rightWeight + upWeight + downWeight) << 2)) + (1 << (RECIPROCAL_BITS - 1))) >> RECIPROCAL_BITS;
}

/** One pass of toon's 5-tap cross, each neighbour weighted by how close it is in value (border samples repeat). */
function smoothCross(source: usize, width: i32, height: i32, target: usize, weights: usize, reciprocals: usize): void {
  const last = width - 1;
  for (let row = 0; row < height; row++) {
    const start = source + <usize>(row * width);
    const above = row > 0 ? start - <usize>width : start;
    const below = row < height - 1 ? start + <usize>width : start;
    const out = target + <usize>(row * width);
    let left = <u32>load<u8>(start);
    let centre = left;
    for (let column = 0; column < last; column++) {
      const at = <usize>column;
      const right = <u32>load<u8>(start + at + 1);
      store<u8>(out + at, smoothSample(centre, left, right, <u32>load<u8>(above + at), <u32>load<u8>(below + at), weights, reciprocals));
      left = centre;
      centre = right;
    }
    store<u8>(out + <usize>last, smoothSample(centre, left, centre, <u32>load<u8>(above + <usize>last), <u32>load<u8>(below + <usize>last), weights, reciprocals));
  }
}

/** Sobel magnitude → ink gain (kept in `ink`), and the posterized band darkened by it into `target`. */
function inkAndPosterize(source: usize, width: i32, height: i32, target: usize, ink: usize, posterized: usize, inkGain: usize): void {
  const last = width - 1;
  for (let row = 0; row < height; row++) {
    const middle = source + <usize>(row * width);
    const above = row > 0 ? middle - <usize>width : middle;
    const below = row < height - 1 ? middle + <usize>width : middle;
    const out = target + <usize>(row * width);
    const inkRow = ink + (<usize>(row * width) << 1);
    let smoothLeft = <i32>load<u8>(above) + 2 * <i32>load<u8>(middle) + <i32>load<u8>(below);
    let differenceLeft = <i32>load<u8>(below) - <i32>load<u8>(above);
    let smoothCentre = smoothLeft;
    let differenceCentre = differenceLeft;
    let centre = <usize>load<u8>(middle);
    for (let column = 0; column < width; column++) {
      const next = <usize>(column < last ? column + 1 : last);
      const nextCentre = load<u8>(middle + next);
      const top = <i32>load<u8>(above + next);
      const bottom = <i32>load<u8>(below + next);
      const smoothRight = top + 2 * <i32>nextCentre + bottom;
      const differenceRight = bottom - top;
      const gx = smoothRight - smoothLeft;
      const gy = differenceLeft + 2 * differenceCentre + differenceRight;
      const gain = <i32>load<u16>(inkGain + (<usize>((abs(gx) + abs(gy)) >> 2) << 1));
      store<u16>(inkRow + (<usize>column << 1), gain);
      store<u8>(out + <usize>column, 16 + (((<i32>load<u8>(posterized + centre) - 16) * gain) >> 8));
      smoothLeft = smoothCentre;
      smoothCentre = smoothRight;
      differenceLeft = differenceCentre;
      differenceCentre = differenceRight;
      centre = <usize>nextCentre;
    }
  }
}

/** toon's luma: `passes` smoothing passes through the two scratch planes, then posterize and ink back into `plane`. */
export function toonLuma(plane: usize, width: i32, height: i32, passes: i32, scratchA: usize, scratchB: usize, ink: usize, weights: usize, reciprocals: usize, posterized: usize, inkGain: usize): void {
  let smoothed = plane;
  for (let pass = 0; pass < passes; pass++) {
    const target = pass % 2 == 0 ? scratchA : scratchB;
    smoothCross(smoothed, width, height, target, weights, reciprocals);
    smoothed = target;
  }
  if (smoothed == plane) {
    memory.copy(scratchA, plane, <usize>(width * height));
    smoothed = scratchA;
  }
  inkAndPosterize(smoothed, width, height, plane, ink, posterized, inkGain);
}

/** toon's chroma: boosted, and pulled to grey under the ink (`step` ink samples per chroma sample). */
export function inkChroma(u: usize, v: usize, chromaWidth: i32, chromaHeight: i32, ink: usize, inkWidth: i32, step: i32, saturated: usize): void {
  for (let row = 0; row < chromaHeight; row++) {
    const start = <usize>(row * chromaWidth);
    const inkRow = ink + (<usize>(row * step * inkWidth) << 1);
    for (let column = 0; column < chromaWidth; column++) {
      const gain = <i32>load<u16>(inkRow + (<usize>(column * step) << 1));
      const at = start + <usize>column;
      store<u8>(u + at, 128 + ((<i32>load<i16>(saturated + (<usize>load<u8>(u + at) << 1)) * gain) >> 8));
      store<u8>(v + at, 128 + ((<i32>load<i16>(saturated + (<usize>load<u8>(v + at) << 1)) * gain) >> 8));
    }
  }
}

// sketch (transforms/sketch.ts).
const AREA_BITS: i32 = 22;
const DODGE_BITS: i32 = 15;
const DODGE_LIFT: i32 = 20;

/**
 * sketch's luma: full-range copy into `base`, a sliding box blur of `radius` (column sums, edge
 * rows and columns repeated), the colour dodge of each sample by its blur, the tone curve and the
 * 256×256 paper tile. i32 arithmetic wraps like the reference's `>>`.
 */
export function sketchLuma(plane: usize, width: i32, height: i32, radius: i32, base: usize, columnSums: usize, fullRange: usize, dodgeReciprocal: usize, tone: usize, paper: usize): void {
  mapPlane(plane, base, width * height, fullRange);
  for (let column = 0; column < width; column++) {
    let sum = (radius + 1) * <i32>load<u8>(base + <usize>column);
    for (let offset = 1; offset <= radius; offset++) sum += <i32>load<u8>(base + <usize>(min(offset, height - 1) * width + column));
    store<i32>(columnSums + (<usize>column << 2), sum);
  }
  const area = (2 * radius + 1) * (2 * radius + 1);
  const inverseArea = <i32>Math.round(<f64>(1 << AREA_BITS) / <f64>area);
  const areaRounding = 1 << (AREA_BITS - 1);
  const dodgeRounding = 1 << (DODGE_BITS - 1);
  const last = width - 1;
  for (let row = 0; row < height; row++) {
    const start = plane + <usize>(row * width);
    const baseRow = base + <usize>(row * width);
    const paperRow = paper + (<usize>((row & 255) * 256) << 1);
    let sum = (radius + 1) * load<i32>(columnSums);
    for (let offset = 1; offset <= radius; offset++) sum += load<i32>(columnSums + (<usize>min(offset, last) << 2));
    for (let column = 0; column < width; column++) {
      const blurred = (sum * inverseArea + areaRounding) >> AREA_BITS;
      const dodged = ((<i32>load<u8>(baseRow + <usize>column) + DODGE_LIFT) * load<i32>(dodgeReciprocal + (<usize>blurred << 2)) + dodgeRounding) >> DODGE_BITS;
      store<u8>(start + <usize>column, 16 + ((<i32>load<u8>(tone + <usize>dodged) * <i32>load<u16>(paperRow + (<usize>(column & 255) << 1))) >> 8));
      sum += load<i32>(columnSums + (<usize>(column + radius < last ? column + radius + 1 : last) << 2)) - load<i32>(columnSums + (<usize>(column > radius ? column - radius : <i32>0) << 2));
    }
    const leaving = base + <usize>((row > radius ? row - radius : <i32>0) * width);
    const entering = base + <usize>((row + radius < height - 1 ? row + radius + 1 : height - 1) * width);
    slideColumnSums(columnSums, entering, leaving, width);
  }
}

// face-blur's region blur (transforms/face-detection/region-blur.ts). The reference rounds with
// f64 (`sum * scale + 0.5`, truncated); the same f64 operations here give the same bytes.

/** Box filter of one row in place (samples beyond its ends repeat the end pixel); `line` holds its copy. */
function blurRow(start: usize, count: i32, radius: i32, line: usize): void {
  memory.copy(line, start, <usize>count);
  const last = count - 1;
  const scale = 1.0 / <f64>(2 * radius + 1);
  let sum = <i32>load<u8>(line) * (radius + 1);
  for (let index = 1; index <= radius; index++) sum += <i32>load<u8>(line + <usize>index);
  for (let index = 0; index < count; index++) {
    store<u8>(start + <usize>index, <i32>(<f64>sum * scale + 0.5));
    const entering = index + radius + 1;
    const leaving = index - radius;
    sum += <i32>load<u8>(line + <usize>(entering > last ? last : entering)) - <i32>load<u8>(line + <usize>(leaving < 0 ? 0 : leaving));
  }
}

/**
 * Box filter down every column at once: i32 column sums, 16 columns per step. f32 gives the
 * reference's bytes here: sum / (2r + 1) + 0.5 is never within 1 / (2(2r + 1)) of an integer (the
 * divisor is odd), far more than f32's error at these magnitudes. `copy` holds the region's rows.
 */
function blurColumns(plane: usize, stride: i32, width: i32, height: i32, radius: i32, copy: usize, sums: usize): void {
  for (let row = 0; row < height; row++) memory.copy(copy + <usize>(row * width), plane + <usize>(row * stride), <usize>width);
  const last = height - 1;
  for (let column = 0; column < width; column++) {
    let sum = (radius + 1) * <i32>load<u8>(copy + <usize>column);
    for (let offset = 1; offset <= radius; offset++) sum += <i32>load<u8>(copy + <usize>(offset * width + column));
    store<i32>(sums + (<usize>column << 2), sum);
  }
  const scale = 1.0 / <f64>(2 * radius + 1);
  const scaleLanes = f32x4.splat(<f32>scale);
  const half = f32x4.splat(0.5);
  for (let row = 0; row < height; row++) {
    const out = plane + <usize>(row * stride);
    const leaving = copy + <usize>((row > radius ? row - radius : <i32>0) * width);
    const entering = copy + <usize>((row + radius < last ? row + radius + 1 : last) * width);
    let column = 0;
    for (; column + 16 <= width; column += 16) {
      const at = sums + (<usize>column << 2);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(at)), scaleLanes), half));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(at, 16)), scaleLanes), half));
      const q2 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(at, 32)), scaleLanes), half));
      const q3 = i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(v128.load(at, 48)), scaleLanes), half));
      v128.store(out + <usize>column, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    for (; column < width; column++) store<u8>(out + <usize>column, <i32>(<f64>load<i32>(sums + (<usize>column << 2)) * scale + 0.5));
    slideColumnSums(sums, entering, leaving, width);
  }
}

/**
 * region-blur's blurPlane: `passes` × (rows, then columns) of a box filter of `radius` over the
 * width × height region at `plane` (rows `stride` apart). `line`: the longest side + 1 bytes;
 * `copy`: width × height bytes; `sums`: width rounded up to 16 i32 values.
 */
export function blurRegion(plane: usize, stride: i32, width: i32, height: i32, radius: i32, passes: i32, line: usize, copy: usize, sums: usize): void {
  if (width < 2 || height < 2) return;
  const rowRadius = min(radius, width - 1);
  const columnRadius = min(radius, height - 1);
  for (let pass = 0; pass < passes; pass++) {
    for (let row = 0; row < height; row++) blurRow(plane + <usize>(row * stride), width, rowRadius, line);
    blurColumns(plane, stride, width, height, columnRadius, copy, sums);
  }
}

/**
 * Each factor × factor block of the region (smaller at its right and bottom edges) → its mean, into
 * `small`: column sums over the block's rows 16 at a time (u16), then `factor` of them per output.
 * floor((2·sum + count) / (2·count)) is the reference's f64 `sum / count + 0.5`, ties included.
 * `sums`: width rounded up to 16 u16 values.
 */
export function shrinkRegion(plane: usize, stride: i32, width: i32, height: i32, factor: i32, small: usize, smallWidth: i32, smallHeight: i32, sums: usize): void {
  for (let smallRow = 0; smallRow < smallHeight; smallRow++) {
    const rowStart = smallRow * factor;
    const rows = min(height, rowStart + factor) - rowStart;
    memory.fill(sums, 0, <usize>(((width + 15) & ~15) << 1));
    for (let row = rowStart; row < rowStart + rows; row++) {
      addRowToSums(sums, plane + <usize>(row * stride), width);
    }
    const out = small + <usize>(smallRow * smallWidth);
    for (let smallColumn = 0; smallColumn < smallWidth; smallColumn++) {
      const columnStart = smallColumn * factor;
      const columnEnd = min(width, columnStart + factor);
      let sum: u32 = 0;
      for (let column = columnStart; column < columnEnd; column++) sum += <u32>load<u16>(sums + (<usize>column << 1));
      const count = <u32>(rows * (columnEnd - columnStart));
      store<u8>(out + <usize>smallColumn, (2 * sum + count) / (2 * count));
    }
  }
}

/**
 * Bilinear upscale of `small` back over the region (sample centres aligned). The reference's f64
 * weights are (2i + 1 − factor) / (2·factor), so whole 24ths for factors 2, 3 and 4; in integers, the
 * result is the reference's: its exact value + 0.5 is either a tie f64 holds exactly (factors 2, 4)
 * or at least 1/18 from an integer (factor 3), far beyond f64's error. Each output row first blends
 * its two source rows into `blended` (u16, 24ths), then each column its two blended neighbours.
 * `columnSource`: width u16 values; `columnWeight`: width u8 values; `blended`: smallWidth u16 values.
 */
export function enlargeRegion(plane: usize, stride: i32, width: i32, height: i32, factor: i32, small: usize, smallWidth: i32, smallHeight: i32, columnSource: usize, columnWeight: usize, blended: usize): void {
  for (let column = 0; column < width; column++) {
    const source = upscaleSource(column, factor, smallWidth);
    store<u16>(columnSource + (<usize>column << 1), <u16>source);
    store<u8>(columnWeight + <usize>column, <u8>upscaleWeight(column, factor, smallWidth, source));
  }
  const twentyFour = i16x8.splat(24);
  for (let row = 0; row < height; row++) {
    const sourceRow = upscaleSource(row, factor, smallHeight);
    const weight = upscaleWeight(row, factor, smallHeight, sourceRow);
    const upper = small + <usize>(sourceRow * smallWidth);
    const lower = upper + <usize>smallWidth;
    const weightLanes = i16x8.splat(<i16>weight);
    let column = 0;
    for (; column + 8 <= smallWidth; column += 8) {
      const top = v128.load8x8_u(upper + <usize>column);
      const bottom = v128.load8x8_u(lower + <usize>column);
      v128.store(blended + (<usize>column << 1), i16x8.add(i16x8.mul(top, twentyFour), i16x8.mul(i16x8.sub(bottom, top), weightLanes)));
    }
    for (; column < smallWidth; column++) {
      const top = <i32>load<u8>(upper + <usize>column);
      store<u16>(blended + (<usize>column << 1), <u16>(24 * top + (<i32>load<u8>(lower + <usize>column) - top) * weight));
    }
    const out = plane + <usize>(row * stride);
    for (let x = 0; x < width; x++) {
      const at = blended + (<usize>load<u16>(columnSource + (<usize>x << 1)) << 1);
      const left = <u32>load<u16>(at);
      const right = <u32>load<u16>(at, 2);
      const columnWeight_ = <u32>load<u8>(columnWeight + <usize>x);
      store<u8>(out + <usize>x, (24 * left + right * columnWeight_ - left * columnWeight_ + 288) / 576);
    }
  }
}

/** The source sample left of (or above) output `index` of a factor× upscale of `count` samples (edges clamped). */
// @ts-ignore: decorator
@inline
function upscaleSource(index: i32, factor: i32, count: i32): i32 {
  // (2·index + 1 − factor) / (2·factor), floored, clamped to 0 … count − 2.
  const twice = 2 * index + 1 - factor;
  if (twice <= 0) return 0;
  return min(count - 2, twice / (2 * factor));
}

/** Output `index`'s weight of the sample right of (or below) its source, in 24ths. */
// @ts-ignore: decorator
@inline
function upscaleWeight(index: i32, factor: i32, count: i32, source: i32): i32 {
  const twice = 2 * index + 1 - factor;
  if (twice <= 0) return 0;
  // Past the last sample, `at` is clamped to count − 1: the weight of the right neighbour is 1.
  if (twice >= 2 * factor * (count - 1)) return 24;
  return ((twice - 2 * factor * source) * 12) / factor;
}
