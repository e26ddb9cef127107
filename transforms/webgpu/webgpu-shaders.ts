// WGSL sources of the GPU kernels. Frames are I420 bytes packed four to a u32 word (compatibility
// mode has no 8-bit storage); each invocation writes one whole output word, so no two invocations
// write the same word, and every kernel reads one buffer and writes the other (ping-pong).

/** Invocations per workgroup; the dispatch is two-dimensional so 4K frames stay under the 65 535 groups per dimension. */
export const WORKGROUP_SIZE = 64;

/** Bytes of the frame-geometry uniform: eight u32 (see FrameInfo below). */
export const FRAME_INFO_BYTES = 32;

const prelude = /* wgsl */ `
struct FrameInfo {
  width: u32,
  height: u32,
  chromaWidth: u32,
  lumaBytes: u32,
  chromaBytes: u32,
  totalBytes: u32,
  rowWords: u32,
  unused: u32,
}
@group(0) @binding(0) var<uniform> info: FrameInfo;
@group(0) @binding(1) var<storage, read> inputWords: array<u32>;
@group(0) @binding(2) var<storage, read_write> outputWords: array<u32>;

fn inputByte(index: u32) -> u32 {
  return (inputWords[index >> 2u] >> ((index & 3u) * 8u)) & 255u;
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let word = id.y * info.rowWords + id.x;
  let first = word * 4u;
  if (first >= info.totalBytes) {
    return;
  }
  var packed = 0u;
  for (var lane = 0u; lane < 4u; lane++) {
    if (first + lane < info.totalBytes) {
      packed = packed | (outputByte(first + lane) << (lane * 8u));
    }
  }
  outputWords[word] = packed;
}
`;

/** The per-frame parameters of kernels that take them (four words, written before each frame's dispatch). */
const frameParameter = /* wgsl */ `
struct FrameParameter {
  value: u32,
  second: u32,
  third: u32,
  fourth: u32,
}
@group(0) @binding(3) var<uniform> parameter: FrameParameter;
`;

/** Where a byte of the frame lies: its plane's first byte, the plane's size, and its row and column in the plane. */
const planeOf = /* wgsl */ `
struct PlacedByte {
  planeStart: u32,
  width: u32,
  height: u32,
  row: u32,
  column: u32,
  chroma: bool,
}

fn placeOf(index: u32) -> PlacedByte {
  if (index < info.lumaBytes) {
    let row = index / info.width;
    return PlacedByte(0u, info.width, info.height, row, index - row * info.width, false);
  }
  var start = info.lumaBytes;
  if (index >= info.lumaBytes + info.chromaBytes) {
    start = info.lumaBytes + info.chromaBytes;
  }
  let local = index - start;
  let row = local / info.chromaWidth;
  return PlacedByte(start, info.chromaWidth, info.chromaBytes / info.chromaWidth, row, local - row * info.chromaWidth, true);
}
`;

/** The pixelate block of a byte's plane: the parameter in luma, half of it in the half-size chroma planes. */
const pixelateBlockOf = /* wgsl */ `
fn pixelateBlock(place: PlacedByte) -> u32 {
  if (place.chroma) {
    return parameter.value / 2u;
  }
  return parameter.value;
}
`;

/**
 * Pixelate, first pass: the top-left byte of every block becomes the block's rounded mean (the
 * reference's Math.round), every other byte 0; each block is summed once. Parameter: the luma block size.
 */
const pixelateMeans = /* wgsl */ `
${frameParameter}
${planeOf}
${pixelateBlockOf}

fn outputByte(index: u32) -> u32 {
  let place = placeOf(index);
  let block = pixelateBlock(place);
  if (place.row % block != 0u || place.column % block != 0u) {
    return 0u;
  }
  let rows = min(block, place.height - place.row);
  let columns = min(block, place.width - place.column);
  var sum = 0u;
  for (var dy = 0u; dy < rows; dy++) {
    let first = place.planeStart + (place.row + dy) * place.width + place.column;
    for (var dx = 0u; dx < columns; dx++) {
      sum = sum + inputByte(first + dx);
    }
  }
  let count = rows * columns;
  return (2u * sum + count) / (2u * count);
}
`;

/** Pixelate, second pass: every byte takes the mean the first pass left at its block's top-left byte. */
const pixelateFill = /* wgsl */ `
${frameParameter}
${planeOf}
${pixelateBlockOf}

fn outputByte(index: u32) -> u32 {
  let place = placeOf(index);
  let block = pixelateBlock(place);
  let top = place.row - place.row % block;
  let left = place.column - place.column % block;
  return inputByte(place.planeStart + top * place.width + left);
}
`;

/**
 * The overlay alpha blend (image, text, label): the raster's planes in one table (luma, alpha, U, V,
 * chroma alpha; chroma at half size) blended like the reference, integer maths. Parameters: left |
 * top << 16, the raster's first column | visible columns << 16, rows | raster width << 16, raster height.
 */
const overlay = /* wgsl */ `
${frameParameter}
@group(0) @binding(4) var<storage, read> raster: array<u32>;

fn rasterByte(index: u32) -> u32 {
  return (raster[index >> 2u] >> ((index & 3u) * 8u)) & 255u;
}

fn blended(frameValue: u32, rasterValue: u32, alpha: u32) -> u32 {
  return (frameValue * (255u - alpha) + rasterValue * alpha + 127u) / 255u;
}

fn outputByte(index: u32) -> u32 {
  let value = inputByte(index);
  var left = parameter.value & 0xffffu;
  var top = parameter.value >> 16u;
  var start = parameter.second & 0xffffu;
  var columns = parameter.second >> 16u;
  var rows = parameter.third & 0xffffu;
  let rasterWidth = parameter.third >> 16u;
  let rasterHeight = parameter.fourth;
  let lumaSamples = rasterWidth * rasterHeight;
  let chromaSamples = lumaSamples / 4u;
  var rasterRowWidth = rasterWidth;
  var row = 0u;
  var column = 0u;
  var plane = 0u;
  if (index < info.lumaBytes) {
    row = index / info.width;
    column = index - row * info.width;
  } else {
    var local = index - info.lumaBytes;
    plane = 1u;
    if (local >= info.chromaBytes) {
      local = local - info.chromaBytes;
      plane = 2u;
    }
    row = local / info.chromaWidth;
    column = local - row * info.chromaWidth;
    left = left >> 1u;
    top = top >> 1u;
    start = start >> 1u;
    columns = columns >> 1u;
    rows = rows >> 1u;
    rasterRowWidth = rasterWidth / 2u;
  }
  if (row < top || row >= top + rows || column < left || column >= left + columns) {
    return value;
  }
  let source = (row - top) * rasterRowWidth + start + (column - left);
  if (plane == 0u) {
    return blended(value, rasterByte(source), rasterByte(lumaSamples + source));
  }
  let alpha = rasterByte(2u * lumaSamples + 2u * chromaSamples + source);
  return blended(value, rasterByte(2u * lumaSamples + (plane - 1u) * chromaSamples + source), alpha);
}
`;

/** Color: the reference's three 256-entry tables (Y, U, V), packed four entries to a word. */
const color = /* wgsl */ `
@group(0) @binding(3) var<storage, read> tables: array<u32>;

fn outputByte(index: u32) -> u32 {
  var plane = 0u;
  if (index >= info.lumaBytes) {
    plane = 1u;
  }
  if (index >= info.lumaBytes + info.chromaBytes) {
    plane = 2u;
  }
  let entry = plane * 256u + inputByte(index);
  return (tables[entry >> 2u] >> ((entry & 3u) * 8u)) & 255u;
}
`;

/**
 * Lut3d: the reference's YUV tables (luma by [U level][V level][Y], packed bytes; chroma as U | V << 16),
 * bilinear between the four chroma cells in sixteenths, chroma at the block's rounded mean luma.
 */
const lut3d = /* wgsl */ `
@group(0) @binding(3) var<storage, read> lumaTable: array<u32>;
@group(0) @binding(4) var<storage, read> chromaTable: array<u32>;

const CHROMA_LEVELS = 65u;
const CELL = 256u;
const U_STRIDE = 16640u;

struct Cell {
  first: u32,
  weights: vec4<u32>,
}

fn cellOf(chromaIndex: u32) -> Cell {
  let u = inputByte(info.lumaBytes + chromaIndex);
  let v = inputByte(info.lumaBytes + info.chromaBytes + chromaIndex);
  let uFraction = u & 3u;
  let vFraction = v & 3u;
  let weights = vec4<u32>((4u - uFraction) * (4u - vFraction), (4u - uFraction) * vFraction, uFraction * (4u - vFraction), uFraction * vFraction);
  return Cell(((u >> 2u) * CHROMA_LEVELS + (v >> 2u)) * CELL, weights);
}

fn lumaEntry(index: u32) -> u32 {
  return (lumaTable[index >> 2u] >> ((index & 3u) * 8u)) & 255u;
}

fn outputByte(index: u32) -> u32 {
  if (index < info.lumaBytes) {
    let row = index / info.width;
    let column = index - row * info.width;
    let cell = cellOf((row >> 1u) * info.chromaWidth + (column >> 1u));
    let c = cell.first + inputByte(index);
    let w = cell.weights;
    return (w.x * lumaEntry(c) + w.y * lumaEntry(c + CELL) + w.z * lumaEntry(c + U_STRIDE) + w.w * lumaEntry(c + U_STRIDE + CELL) + 8u) >> 4u;
  }
  var chromaIndex = index - info.lumaBytes;
  let isV = chromaIndex >= info.chromaBytes;
  if (isV) {
    chromaIndex = chromaIndex - info.chromaBytes;
  }
  let chromaRow = chromaIndex / info.chromaWidth;
  let row = chromaRow * 2u;
  let column = (chromaIndex - chromaRow * info.chromaWidth) * 2u;
  let rows = min(2u, info.height - row);
  let columns = min(2u, info.width - column);
  var sum = 0u;
  for (var dy = 0u; dy < rows; dy++) {
    for (var dx = 0u; dx < columns; dx++) {
      sum = sum + inputByte((row + dy) * info.width + column + dx);
    }
  }
  let count = rows * columns;
  let mean = (sum + count / 2u) / count;
  let cell = cellOf(chromaIndex);
  let c = cell.first + mean;
  let w = cell.weights;
  let packed = w.x * chromaTable[c] + w.y * chromaTable[c + CELL] + w.z * chromaTable[c + U_STRIDE] + w.w * chromaTable[c + U_STRIDE + CELL] + (8u | (8u << 16u));
  if (isV) {
    return packed >> 20u;
  }
  return (packed & 0xffffu) >> 4u;
}
`;

/** Vignette: the reference's per-pixel gains (8.8 fixed point, u16 packed two to a word), one multiply per sample. */
const vignette = /* wgsl */ `
@group(0) @binding(3) var<storage, read> lumaGains: array<u32>;
@group(0) @binding(4) var<storage, read> chromaGains: array<u32>;

fn outputByte(index: u32) -> u32 {
  let value = i32(inputByte(index));
  if (index < info.lumaBytes) {
    let gain = i32((lumaGains[index >> 1u] >> ((index & 1u) * 16u)) & 0xffffu);
    return u32(16 + (((value - 16) * gain) >> 8u));
  }
  var chromaIndex = index - info.lumaBytes;
  if (chromaIndex >= info.chromaBytes) {
    chromaIndex = chromaIndex - info.chromaBytes;
  }
  let gain = i32((chromaGains[chromaIndex >> 1u] >> ((chromaIndex & 1u) * 16u)) & 0xffffu);
  return u32(128 + (((value - 128) * gain) >> 8u));
}
`;

/** Grain on luma: the reference's noise tile, already scaled, read at this frame's offset (its per-frame parameter). */
const grain = /* wgsl */ `
${frameParameter}
@group(0) @binding(4) var<storage, read> tileNoise: array<i32>;

fn outputByte(index: u32) -> u32 {
  let value = inputByte(index);
  if (index >= info.lumaBytes) {
    return value;
  }
  let row = index / info.width;
  let column = index - row * info.width;
  let offsetX = parameter.value & 255u;
  let offsetY = parameter.value >> 8u;
  let noise = tileNoise[((row + offsetY) & 255u) * 256u + ((column + offsetX) & 255u)];
  return u32(clamp(i32(value) + noise, 0, 255));
}
`;

/**
 * The kernels by name: `parameter` kernels bind a per-frame u32 uniform at binding 3; their tables
 * follow it (the others' tables start at binding 3).
 */
export const KERNELS = {
  color: { source: color + prelude, parameter: false },
  lut3d: { source: lut3d + prelude, parameter: false },
  vignette: { source: vignette + prelude, parameter: false },
  grain: { source: grain + prelude, parameter: true },
  pixelateMeans: { source: pixelateMeans + prelude, parameter: true },
  pixelateFill: { source: pixelateFill + prelude, parameter: true },
  overlay: { source: overlay + prelude, parameter: true },
} as const;

export type KernelName = keyof typeof KERNELS;
