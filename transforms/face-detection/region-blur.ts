import type { Frame } from '../frame.js';

/** Running-sum box-blur passes: three approximate a Gaussian. */
export const BLUR_PASSES = 3;
/** A wide blur runs on the region shrunk by up to this factor (then scaled back up bilinearly) ... */
const MAX_REDUCTION = 4;
/** ... keeping at least this radius in the shrunk region; the result is as smooth, at a fraction of the work. */
const MIN_REDUCED_RADIUS = 4;

/**
 * Hides rectangles (or the ellipses inside them) of an I420 frame in place: a strong box blur
 * (separable running sums) or a mosaic, on Y and on U/V at half the size. Scratch buffers are
 * allocated per resolution.
 */
export class RegionBlur {
  private line = new Uint8Array(0);
  /** The rectangle as it was, to put back what lies outside the ellipse. */
  private saved = new Uint8Array(0);
  /** Per row of the rectangle, where the ellipse starts and ends. */
  private spans = new Int32Array(0);
  /** The shrunk region a wide blur works on. */
  private small = new Uint8Array(0);
  /** Per output column of the upscale: left source column and its weight's complement. */
  private columnSource = new Int32Array(0);
  private columnWeight = new Float64Array(0);

  /** Makes room for frames of this size; allocates only when they are larger than before. */
  reserve(width: number, height: number): void {
    const longest = Math.max(width, height) + 1;
    if (this.line.length < longest) this.line = new Uint8Array(longest);
    if (this.saved.length < width * height) this.saved = new Uint8Array(width * height);
    if (this.spans.length < 2 * height) this.spans = new Int32Array(2 * height);
    const smallBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
    if (this.small.length < smallBytes) this.small = new Uint8Array(smallBytes);
    if (this.columnSource.length < width) {
      this.columnSource = new Int32Array(width);
      this.columnWeight = new Float64Array(width);
    }
  }

  /** Nothing to give back here; the WebAssembly subclass frees its memory. Idempotent. */
  close(): void {}

  /**
   * Blurs (`size` is the luma radius) or pixelates (`size` is the luma block) the rectangle
   * [left, right) × [top, bottom), even coordinates, or only the ellipse inscribed in it.
   */
  hide(frame: Frame, mode: 'blur' | 'pixelate', left: number, top: number, right: number, bottom: number, size: number, ellipse: boolean): void {
    for (let plane = 0; plane < 3; plane++) {
      const pixels = plane === 0 ? frame.y : plane === 1 ? frame.u : frame.v;
      const shift = plane === 0 ? 0 : 1;
      const stride = plane === 0 ? frame.width : Math.ceil(frame.width / 2);
      const x0 = left >> shift;
      const y0 = top >> shift;
      const x1 = (right + shift) >> shift;
      const y1 = (bottom + shift) >> shift;
      const planeSize = Math.max(1, size >> shift);
      if (ellipse) saveOutsideEllipse(pixels, stride, x0, y0, x1, y1, this.saved, this.spans);
      if (mode === 'blur') this.blur(pixels, stride, x0, y0, x1 - x0, y1 - y0, planeSize);
      else averageBlocks(pixels, stride, x0, y0, x1, y1, planeSize);
      if (ellipse) restoreOutsideEllipse(pixels, stride, x0, y0, x1, y1, this.saved, this.spans);
    }
  }

  /** Blurs one plane's rectangle in place (overridden by the WebAssembly kernel). */
  protected blur(plane: Uint8Array, stride: number, left: number, top: number, width: number, height: number, radius: number): void {
    const factor = reductionFactor(radius, width, height);
    if (factor < 2) {
      blurPlane(plane, stride, left, top, width, height, radius, this.line);
      return;
    }
    const smallWidth = Math.ceil(width / factor);
    const smallHeight = Math.ceil(height / factor);
    shrink(plane, stride, left, top, width, height, factor, this.small, smallWidth, smallHeight);
    blurPlane(this.small, smallWidth, 0, 0, smallWidth, smallHeight, Math.round(radius / factor), this.line);
    this.enlarge(plane, stride, left, top, width, height, factor, smallWidth, smallHeight);
  }

  /** Bilinear upscale of the shrunk region back over the rectangle (sample centres aligned). */
  private enlarge(plane: Uint8Array, stride: number, left: number, top: number, width: number, height: number, factor: number, smallWidth: number, smallHeight: number): void {
    const small = this.small;
    const inverse = 1 / factor;
    for (let column = 0; column < width; column++) {
      const at = Math.min(smallWidth - 1, Math.max(0, (column + 0.5) * inverse - 0.5));
      const source = Math.min(smallWidth - 2, Math.floor(at));
      this.columnSource[column] = source;
      this.columnWeight[column] = at - source;
    }
    for (let row = 0; row < height; row++) {
      const at = Math.min(smallHeight - 1, Math.max(0, (row + 0.5) * inverse - 0.5));
      const sourceRow = Math.min(smallHeight - 2, Math.floor(at));
      const weight = at - sourceRow;
      const upper = sourceRow * smallWidth;
      const lower = upper + smallWidth;
      const out = (top + row) * stride + left;
      for (let column = 0; column < width; column++) {
        const source = this.columnSource[column]!;
        const columnWeight = this.columnWeight[column]!;
        const a = small[upper + source]! + (small[upper + source + 1]! - small[upper + source]!) * columnWeight;
        const b = small[lower + source]! + (small[lower + source + 1]! - small[lower + source]!) * columnWeight;
        plane[out + column] = a + (b - a) * weight + 0.5;
      }
    }
  }
}

/** How much a blur of `radius` over a width × height rectangle shrinks it first; below 2 it runs at full size. */
export function reductionFactor(radius: number, width: number, height: number): number {
  const factor = Math.min(MAX_REDUCTION, Math.floor(radius / MIN_REDUCED_RADIUS));
  return factor < 2 || width < 2 * factor || height < 2 * factor ? 1 : factor;
}

/** Each factor × factor block of the rectangle (smaller at its right and bottom edges) → its mean. */
function shrink(plane: Uint8Array, stride: number, left: number, top: number, width: number, height: number, factor: number, small: Uint8Array, smallWidth: number, smallHeight: number): void {
  for (let smallRow = 0; smallRow < smallHeight; smallRow++) {
    const rowStart = smallRow * factor;
    const rowEnd = Math.min(height, rowStart + factor);
    for (let smallColumn = 0; smallColumn < smallWidth; smallColumn++) {
      const columnStart = smallColumn * factor;
      const columnEnd = Math.min(width, columnStart + factor);
      let sum = 0;
      for (let row = rowStart; row < rowEnd; row++) {
        const base = (top + row) * stride + left;
        for (let column = columnStart; column < columnEnd; column++) sum += plane[base + column]!;
      }
      small[smallRow * smallWidth + smallColumn] = sum / ((rowEnd - rowStart) * (columnEnd - columnStart)) + 0.5;
    }
  }
}

function blurPlane(plane: Uint8Array, stride: number, left: number, top: number, width: number, height: number, radius: number, line: Uint8Array): void {
  if (width < 2 || height < 2) return;
  for (let pass = 0; pass < BLUR_PASSES; pass++) {
    for (let row = top; row < top + height; row++) blurLine(plane, row * stride + left, 1, width, Math.min(radius, width - 1), line);
    for (let column = left; column < left + width; column++) blurLine(plane, top * stride + column, stride, height, Math.min(radius, height - 1), line);
  }
}

/** Box filter of one row or column in place; samples beyond its ends repeat the end pixel. */
function blurLine(plane: Uint8Array, start: number, step: number, count: number, radius: number, line: Uint8Array): void {
  for (let index = 0, at = start; index < count; index++, at += step) line[index] = plane[at]!;
  const last = count - 1;
  const scale = 1 / (2 * radius + 1);
  let sum = line[0]! * (radius + 1);
  for (let index = 1; index <= radius; index++) sum += line[index]!;
  for (let index = 0, at = start; index < count; index++, at += step) {
    plane[at] = sum * scale + 0.5;
    const entering = index + radius + 1;
    const leaving = index - radius;
    sum += line[entering > last ? last : entering]! - line[leaving < 0 ? 0 : leaving]!;
  }
}

/** Saves what lies outside the ellipse inscribed in the rectangle, and each row's inside span [start, end). */
function saveOutsideEllipse(plane: Uint8Array, stride: number, left: number, top: number, right: number, bottom: number, saved: Uint8Array, spans: Int32Array): void {
  const width = right - left;
  const centreX = (left + right) / 2;
  const centreY = (top + bottom) / 2;
  const radiusX = width / 2;
  const radiusY = (bottom - top) / 2;
  for (let row = top; row < bottom; row++) {
    const dy = (row + 0.5 - centreY) / radiusY;
    const half = dy * dy < 1 ? radiusX * Math.sqrt(1 - dy * dy) : 0;
    const inStart = Math.max(left, Math.round(centreX - half));
    const inEnd = Math.max(inStart, Math.min(right, Math.round(centreX + half)));
    spans[2 * (row - top)] = inStart;
    spans[2 * (row - top) + 1] = inEnd;
    const to = (row - top) * width - left;
    const at = row * stride;
    for (let column = left; column < inStart; column++) saved[to + column] = plane[at + column]!;
    for (let column = inEnd; column < right; column++) saved[to + column] = plane[at + column]!;
  }
}

function restoreOutsideEllipse(plane: Uint8Array, stride: number, left: number, top: number, right: number, bottom: number, saved: Uint8Array, spans: Int32Array): void {
  const width = right - left;
  for (let row = top; row < bottom; row++) {
    const inStart = spans[2 * (row - top)]!;
    const inEnd = spans[2 * (row - top) + 1]!;
    const from = (row - top) * width - left;
    const at = row * stride;
    for (let column = left; column < inStart; column++) plane[at + column] = saved[from + column]!;
    for (let column = inEnd; column < right; column++) plane[at + column] = saved[from + column]!;
  }
}

function averageBlocks(plane: Uint8Array, stride: number, left: number, top: number, right: number, bottom: number, block: number): void {
  for (let blockTop = top; blockTop < bottom; blockTop += block) {
    const blockBottom = Math.min(bottom, blockTop + block);
    for (let blockLeft = left; blockLeft < right; blockLeft += block) {
      const blockRight = Math.min(right, blockLeft + block);
      let sum = 0;
      for (let row = blockTop; row < blockBottom; row++) for (let column = blockLeft; column < blockRight; column++) sum += plane[row * stride + column]!;
      const mean = Math.round(sum / ((blockBottom - blockTop) * (blockRight - blockLeft)));
      for (let row = blockTop; row < blockBottom; row++) plane.fill(mean, row * stride + blockLeft, row * stride + blockRight);
    }
  }
}
