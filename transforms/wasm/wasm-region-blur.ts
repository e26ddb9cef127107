import { BLUR_PASSES, reductionFactor, RegionBlur } from '../face-detection/region-blur.js';
import type { WasmKernels } from './wasm-kernels.js';
import { WasmScratch } from './wasm-scratch.js';

/**
 * face-blur's RegionBlur with the blur (shrink, box passes, bilinear enlarge) in the WebAssembly
 * kernels; the ellipse mask and the mosaic stay in TypeScript (copies and fills). A plane in the
 * kernels' memory is blurred in place; one from elsewhere has just its rectangle staged.
 */
export class WasmRegionBlur extends RegionBlur {
  private readonly kernels: WasmKernels;
  /** Parts: line, rows copy (and the upscale's blended row), column sums, shrunk region, column sources, column weights, staged rectangle. */
  private readonly scratch: WasmScratch;

  constructor(options: { kernels: WasmKernels }) {
    super();
    this.kernels = options.kernels;
    this.scratch = new WasmScratch({ kernels: options.kernels });
  }

  override reserve(width: number, height: number): void {
    super.reserve(width, height);
    this.scratch.fit(width, height, (frameWidth, frameHeight) => {
      const area = frameWidth * frameHeight;
      return [Math.max(frameWidth, frameHeight) + 1, area, 4 * (frameWidth + 16), Math.ceil(frameWidth / 2) * Math.ceil(frameHeight / 2), 2 * frameWidth, frameWidth, area];
    });
  }

  protected override blur(plane: Uint8Array, stride: number, left: number, top: number, width: number, height: number, radius: number): void {
    const kernels = this.kernels;
    const [line, copy, sums, small, columnSource, columnWeight, staged] = this.scratch.parts as [number, number, number, number, number, number, number];
    const inPlace = kernels.owns(plane);
    const start = top * stride + left;
    let pointer = plane.byteOffset + start;
    let pointerStride = stride;
    if (!inPlace) {
      const region = kernels.bytes(staged, width * height);
      for (let row = 0; row < height; row++) region.set(plane.subarray(start + row * stride, start + row * stride + width), row * width);
      pointer = staged;
      pointerStride = width;
    }
    const factor = reductionFactor(radius, width, height);
    const exports = kernels.exports;
    if (factor < 2) exports.blurRegion(pointer, pointerStride, width, height, radius, BLUR_PASSES, line, copy, sums);
    else {
      const smallWidth = Math.ceil(width / factor);
      const smallHeight = Math.ceil(height / factor);
      exports.shrinkRegion(pointer, pointerStride, width, height, factor, small, smallWidth, smallHeight, sums);
      exports.blurRegion(small, smallWidth, smallWidth, smallHeight, Math.round(radius / factor), BLUR_PASSES, line, copy, sums);
      exports.enlargeRegion(pointer, pointerStride, width, height, factor, small, smallWidth, smallHeight, columnSource, columnWeight, copy);
    }
    if (!inPlace) {
      const region = kernels.bytes(staged, width * height);
      for (let row = 0; row < height; row++) plane.set(region.subarray(row * width, (row + 1) * width), start + row * stride);
    }
  }

  override close(): void {
    this.scratch.close();
  }
}
