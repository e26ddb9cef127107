import { existsSync } from 'node:fs';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import { rgbToU, rgbToV, rgbToY } from './bt601.js';
import type { Frame } from './frame.js';
import type { WasmKernels } from './wasm/wasm-kernels.js';
import { GpuKernel } from './webgpu/gpu-kernel.js';
import type { WebgpuDevice } from './webgpu/webgpu-device.js';

/** Where an overlay blends: the WebAssembly SIMD kernel (`kernels`), the GPU (`device`), else the TypeScript reference. */
export interface OverlayBackendOptions {
  kernels?: WasmKernels;
  device?: WebgpuDevice;
}

/** Fonts from Debian's fonts-dejavu-core (scripts/setup.sh installs it), registered once by name. */
const FONT_FILES: Record<string, string> = {
  'DejaVu Sans': '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  'DejaVu Sans Bold': '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
};
let fontsRegistered = false;
export const OVERLAY_FONT = 'DejaVu Sans';

function registerFonts(): void {
  if (fontsRegistered) return;
  fontsRegistered = true;
  for (const [family, file] of Object.entries(FONT_FILES)) if (existsSync(file)) GlobalFonts.registerFromPath(file, family);
}

/** Width in pixels of `text` in a CSS `font`, with the overlay fonts registered. */
export function measureTextWidth(font: string, text: string): number {
  registerFonts();
  const context = createCanvas(1, 1).getContext('2d');
  context.font = font;
  return Math.ceil(context.measureText(text).width);
}

/**
 * Graphics drawn once with @napi-rs/canvas and kept as I420 planes plus alpha, so each frame only
 * blends (integer math, no allocation). Redraw only when the content or the frame size changes.
 */
export class OverlayRaster {
  width = 0;
  height = 0;
  /** Luma and alpha at full resolution; chroma and its alpha at half, like the frame. */
  private y: Uint8Array = new Uint8Array(0);
  private alpha: Uint8Array = new Uint8Array(0);
  private u: Uint8Array = new Uint8Array(0);
  private v: Uint8Array = new Uint8Array(0);
  private chromaAlpha: Uint8Array = new Uint8Array(0);
  /** How many times the raster was drawn: tests check it is not redrawn per frame. */
  draws = 0;
  /** With kernels (the wasm backend) the planes live in their memory and blend() runs the SIMD kernel. */
  private readonly kernels: WasmKernels | undefined;
  /** On the GPU the planes are uploaded as one table after each draw and blend() queues the WGSL kernel. */
  private readonly gpu: GpuKernel | undefined;
  /** y, alpha, u, v and chromaAlpha, one after the other. */
  private planes: Uint8Array = new Uint8Array(0);
  /** Where the planes start in the kernels' memory (one block). */
  private block = 0;

  constructor(options: OverlayBackendOptions = {}) {
    this.gpu = options.device ? new GpuKernel(options.device, 'overlay') : undefined;
    this.kernels = this.gpu ? undefined : options.kernels;
  }

  /** Gives the planes' memory back to the kernels or the GPU (a later draw allocates again). */
  close(): void {
    this.kernels?.heap.release(this.block);
    this.gpu?.close();
    this.block = 0;
    this.width = 0;
    this.height = 0;
  }

  /** Draws width×height (even) pixels with `paint` and converts them. Allocates only when the size changes. */
  draw(width: number, height: number, paint: (context: SKRSContext2D) => void): void {
    registerFonts();
    const evenWidth = Math.max(2, width + (width % 2));
    const evenHeight = Math.max(2, height + (height % 2));
    const canvas = createCanvas(evenWidth, evenHeight);
    const context = canvas.getContext('2d');
    paint(context);
    const rgba = context.getImageData(0, 0, evenWidth, evenHeight).data;
    if (evenWidth !== this.width || evenHeight !== this.height) {
      this.width = evenWidth;
      this.height = evenHeight;
      this.allocatePlanes(evenWidth * evenHeight, (evenWidth / 2) * (evenHeight / 2));
    }
    // Canvas pixels are not premultiplied in getImageData: colour channels are straight.
    for (let index = 0; index < evenWidth * evenHeight; index++) {
      const offset = index * 4;
      this.y[index] = rgbToY(rgba[offset]!, rgba[offset + 1]!, rgba[offset + 2]!);
      this.alpha[index] = rgba[offset + 3]!;
    }
    const chromaWidth = evenWidth / 2;
    for (let row = 0; row < evenHeight / 2; row++) {
      for (let column = 0; column < chromaWidth; column++) {
        let red = 0;
        let green = 0;
        let blue = 0;
        let weight = 0;
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) {
            const offset = ((row * 2 + dy) * evenWidth + column * 2 + dx) * 4;
            const a = rgba[offset + 3]!;
            red += rgba[offset]! * a;
            green += rgba[offset + 1]! * a;
            blue += rgba[offset + 2]! * a;
            weight += a;
          }
        }
        const index = row * chromaWidth + column;
        this.chromaAlpha[index] = Math.round(weight / 4);
        if (weight > 0) {
          this.u[index] = rgbToU(red / weight, green / weight, blue / weight);
          this.v[index] = rgbToV(red / weight, green / weight, blue / weight);
        } else {
          this.u[index] = 128;
          this.v[index] = 128;
        }
      }
    }
    this.gpu?.upload([this.planes]);
    this.draws++;
  }

  /**
   * Blends the raster onto the frame with its top-left at (x, y) (rounded down to even), showing
   * only the raster's columns from `sourceX` for `visibleWidth` pixels (tickers scroll this way).
   */
  blend(frame: Frame, x: number, y: number, sourceX = 0, visibleWidth = this.width): void {
    const left = Math.max(0, x - (x % 2));
    const top = Math.max(0, y - (y % 2));
    const start = Math.max(0, sourceX - (sourceX % 2));
    const columns = Math.min(visibleWidth, this.width - start, frame.width - left);
    const rows = Math.min(this.height, frame.height - top);
    if (columns <= 0 || rows <= 0) return;
    if (this.gpu) {
      if (this.gpu.ready) this.gpu.queue(frame, left | (top << 16), start | (columns << 16), rows | (this.width << 16), this.height);
      return;
    }
    if (this.kernels) {
      this.blendWithKernels(this.kernels, frame, left, top, start, columns, rows);
      return;
    }
    const { y: frameY, u: frameU, v: frameV, width: frameWidth } = frame;
    for (let row = 0; row < rows; row++) {
      let source = row * this.width + start;
      let target = (top + row) * frameWidth + left;
      for (let column = 0; column < columns; column++, source++, target++) {
        const a = this.alpha[source]!;
        if (a === 0) continue;
        frameY[target] = (frameY[target]! * (255 - a) + this.y[source]! * a + 127) / 255;
      }
    }
    const chromaWidth = Math.ceil(frameWidth / 2);
    const rasterChromaWidth = this.width / 2;
    for (let row = 0; row < rows >> 1; row++) {
      let source = row * rasterChromaWidth + (start >> 1);
      let target = ((top >> 1) + row) * chromaWidth + (left >> 1);
      for (let column = 0; column < columns >> 1; column++, source++, target++) {
        const a = this.chromaAlpha[source]!;
        if (a === 0) continue;
        frameU[target] = (frameU[target]! * (255 - a) + this.u[source]! * a + 127) / 255;
        frameV[target] = (frameV[target]! * (255 - a) + this.v[source]! * a + 127) / 255;
      }
    }
  }

  private allocatePlanes(lumaSamples: number, chromaSamples: number): void {
    const kernels = this.kernels;
    const total = 2 * lumaSamples + 3 * chromaSamples;
    if (kernels) {
      kernels.heap.release(this.block);
      this.block = kernels.heap.allocate(total);
    }
    const all = kernels ? kernels.bytes(this.block, total) : new Uint8Array(total);
    this.planes = all;
    this.y = all.subarray(0, lumaSamples);
    this.alpha = all.subarray(lumaSamples, 2 * lumaSamples);
    this.u = all.subarray(2 * lumaSamples, 2 * lumaSamples + chromaSamples);
    this.v = all.subarray(2 * lumaSamples + chromaSamples, 2 * lumaSamples + 2 * chromaSamples);
    this.chromaAlpha = all.subarray(2 * lumaSamples + 2 * chromaSamples);
  }

  /** blend() by the SIMD kernel: the same rows and columns, the same rounding. */
  private blendWithKernels(kernels: WasmKernels, frame: Frame, left: number, top: number, start: number, columns: number, rows: number): void {
    const planes = kernels.enter(frame);
    const { blendRows } = kernels.exports;
    const width = frame.width;
    blendRows(planes.y + top * width + left, width, this.y.byteOffset + start, this.alpha.byteOffset + start, this.width, columns, rows);
    const chromaWidth = Math.ceil(width / 2);
    const chromaTarget = (top >> 1) * chromaWidth + (left >> 1);
    const chromaStart = start >> 1;
    blendRows(planes.u + chromaTarget, chromaWidth, this.u.byteOffset + chromaStart, this.chromaAlpha.byteOffset + chromaStart, this.width / 2, columns >> 1, rows >> 1);
    blendRows(planes.v + chromaTarget, chromaWidth, this.v.byteOffset + chromaStart, this.chromaAlpha.byteOffset + chromaStart, this.width / 2, columns >> 1, rows >> 1);
    kernels.leave(frame);
  }
}
