// AssemblyScript, compiled to WebAssembly with 128-bit SIMD by `npm run build` (asconfig.json beside
// this folder). Every pointer is a byte offset into the one imported memory; the TypeScript wrappers
// in transforms/wasm/ own the allocations. Each kernel gives the same bytes as its reference in
// transforms/*.ts: the maths is the same integer maths, only done 16 samples at a time.

/** Where static data ends: the wrappers allocate above it. */
export function heapBase(): usize {
  return __heap_base;
}

/** color: plane[i] = table[plane[i]] for a 256-byte table, 16 samples per step by 16 swizzles of 16 entries. */
export function mapPlane(plane: usize, length: i32, table: usize): void {
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
  for (; index + 16 <= length; index += 16) {
    const at = plane + <usize>index;
    // An index outside 0…15 makes swizzle give 0, so each sub-table fills only its own lanes.
    let lanes = v128.load(at);
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
    v128.store(at, out);
  }
  for (; index < length; index++) {
    const at = plane + <usize>index;
    store<u8>(at, load<u8>(table + <usize>load<u8>(at)));
  }
}

// lut3d: the layout of transforms/lut3d.ts's YUV tables.
const CHROMA_LEVELS: i32 = 65;
const CELL: i32 = 256;
const U_STRIDE: i32 = CHROMA_LEVELS * CELL;
const PACKED_HALF: i32 = 8 | (8 << 16);

/** lut3d: each 2×2 block reads its four chroma cells (weights in sixteenths), as Lut3d.apply does. */
export function lut3d(y: usize, u: usize, v: usize, width: i32, height: i32, lumaTable: usize, chromaTable: usize): void {
  const chromaWidth = (width + 1) >> 1;
  const pairs = width >> 1;
  for (let row = 0; row + 1 < height; row += 2) {
    let top = y + <usize>(row * width);
    let bottom = top + <usize>width;
    let chromaIndex = <usize>((row >> 1) * chromaWidth);
    for (let pair = 0; pair < pairs; pair++, chromaIndex++, top += 2, bottom += 2) {
      const uValue = <i32>load<u8>(u + chromaIndex);
      const vValue = <i32>load<u8>(v + chromaIndex);
      const uFraction = uValue & 3;
      const vFraction = vValue & 3;
      const w00 = (4 - uFraction) * (4 - vFraction);
      const w01 = (4 - uFraction) * vFraction;
      const w10 = uFraction * (4 - vFraction);
      const w11 = uFraction * vFraction;
      const c00 = ((uValue >> 2) * CHROMA_LEVELS + (vValue >> 2)) * CELL;
      const l00 = lumaTable + <usize>c00;
      const l01 = l00 + <usize>CELL;
      const l10 = l00 + <usize>U_STRIDE;
      const l11 = l10 + <usize>CELL;
      const a = <usize>load<u8>(top);
      const b = <usize>load<u8>(top, 1);
      const c = <usize>load<u8>(bottom);
      const d = <usize>load<u8>(bottom, 1);
      store<u8>(top, (w00 * load<u8>(l00 + a) + w01 * load<u8>(l01 + a) + w10 * load<u8>(l10 + a) + w11 * load<u8>(l11 + a) + 8) >> 4);
      store<u8>(top, (w00 * load<u8>(l00 + b) + w01 * load<u8>(l01 + b) + w10 * load<u8>(l10 + b) + w11 * load<u8>(l11 + b) + 8) >> 4, 1);
      store<u8>(bottom, (w00 * load<u8>(l00 + c) + w01 * load<u8>(l01 + c) + w10 * load<u8>(l10 + c) + w11 * load<u8>(l11 + c) + 8) >> 4);
      store<u8>(bottom, (w00 * load<u8>(l00 + d) + w01 * load<u8>(l01 + d) + w10 * load<u8>(l10 + d) + w11 * load<u8>(l11 + d) + 8) >> 4, 1);
      const mean = <usize>((<i32>(a + b + c + d) + 2) >> 2);
      const k00 = chromaTable + ((<usize>c00 + mean) << 2);
      const packed =
        w00 * load<i32>(k00) +
        w01 * load<i32>(k00 + (<usize>CELL << 2)) +
        w10 * load<i32>(k00 + (<usize>U_STRIDE << 2)) +
        w11 * load<i32>(k00 + (<usize>(U_STRIDE + CELL) << 2)) +
        PACKED_HALF;
      store<u8>(u + chromaIndex, (packed & 0xffff) >> 4);
      store<u8>(v + chromaIndex, <u32>packed >>> 20);
    }
    if (width & 1) lut3dEdgeBlock(y, u, v, width, height, lumaTable, chromaTable, row, width - 1);
  }
  if (height & 1) for (let column = 0; column < width; column += 2) lut3dEdgeBlock(y, u, v, width, height, lumaTable, chromaTable, height - 1, column);
}

/** One block of 1 or 2 pixels at the right or bottom edge of an odd-sized frame (Lut3d's applyBlock). */
function lut3dEdgeBlock(y: usize, u: usize, v: usize, width: i32, height: i32, lumaTable: usize, chromaTable: usize, row: i32, column: i32): void {
  const chromaIndex = <usize>((row >> 1) * ((width + 1) >> 1) + (column >> 1));
  const uValue = <i32>load<u8>(u + chromaIndex);
  const vValue = <i32>load<u8>(v + chromaIndex);
  const uFraction = uValue & 3;
  const vFraction = vValue & 3;
  const w00 = (4 - uFraction) * (4 - vFraction);
  const w01 = (4 - uFraction) * vFraction;
  const w10 = uFraction * (4 - vFraction);
  const w11 = uFraction * vFraction;
  const c00 = ((uValue >> 2) * CHROMA_LEVELS + (vValue >> 2)) * CELL;
  const l00 = lumaTable + <usize>c00;
  let sum = 0;
  let count = 0;
  for (let dy = 0; dy < 2 && row + dy < height; dy++) {
    for (let dx = 0; dx < 2 && column + dx < width; dx++) {
      const at = y + <usize>((row + dy) * width + column + dx);
      const luma = <usize>load<u8>(at);
      sum += <i32>luma;
      count++;
      store<u8>(at, (w00 * load<u8>(l00 + luma) + w01 * load<u8>(l00 + <usize>CELL + luma) + w10 * load<u8>(l00 + <usize>U_STRIDE + luma) + w11 * load<u8>(l00 + <usize>(U_STRIDE + CELL) + luma) + 8) >> 4);
    }
  }
  // Math.round of a positive mean, in integers.
  const mean = <usize>((2 * sum + count) / (2 * count));
  const k00 = chromaTable + ((<usize>c00 + mean) << 2);
  const packed =
    w00 * load<i32>(k00) + w01 * load<i32>(k00 + (<usize>CELL << 2)) + w10 * load<i32>(k00 + (<usize>U_STRIDE << 2)) + w11 * load<i32>(k00 + (<usize>(U_STRIDE + CELL) << 2)) + PACKED_HALF;
  store<u8>(u + chromaIndex, (packed & 0xffff) >> 4);
  store<u8>(v + chromaIndex, <u32>packed >>> 20);
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
      const start = plane + <usize>(row * width);
      let column = 0;
      for (; column + 16 <= width; column += 16) {
        const pixels = v128.load(start + <usize>column);
        const sums = columnSums + <usize>(column << 1);
        v128.store(sums, i16x8.add(v128.load(sums), i16x8.extend_low_i8x16_u(pixels)));
        v128.store(sums, i16x8.add(v128.load(sums, 16), i16x8.extend_high_i8x16_u(pixels)), 16);
      }
      for (; column < width; column++) {
        const sum = columnSums + <usize>(column << 1);
        store<u16>(sum, load<u16>(sum) + <u16>load<u8>(start + <usize>column));
      }
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
