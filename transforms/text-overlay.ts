import { OVERLAY_FONT, OverlayRaster, measureTextWidth, type OverlayBackendOptions } from './overlay-raster.js';
import type { Frame } from './frame.js';

export type TextPlacement = 'title' | 'lower-third' | 'ticker' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

export interface TextOverlayStyle {
  text: string;
  placement: TextPlacement;
  /** Text height as a fraction of the frame height. */
  fontSize: number;
  /** '#rrggbb' */
  color: string;
  /** '#rrggbbaa', or '' for no box. */
  background: string;
  /** Ticker speed in frame widths per second. */
  tickerSpeed: number;
}

const MARGIN = 0.04;

/**
 * A line of text rasterized once per change of text, style or frame size, then blended onto each
 * frame at its placement (a ticker scrolls by the frame index, so it is deterministic).
 */
export class TextOverlay {
  private readonly raster: OverlayRaster;
  private style: TextOverlayStyle | undefined;
  private drawnFor = '';

  /** `kernels`: blend with the WebAssembly SIMD kernel (the wasm backend); `device`: on the GPU. */
  constructor(options: OverlayBackendOptions = {}) {
    this.raster = new OverlayRaster(options);
  }

  close(): void {
    this.raster.close();
    this.drawnFor = '';
  }

  get draws(): number {
    return this.raster.draws;
  }

  setStyle(style: TextOverlayStyle): void {
    this.style = style;
    this.drawnFor = '';
  }

  apply(frame: Frame, frameIndex: number): void {
    const style = this.style;
    if (!style || style.text === '') return;
    const key = `${frame.width}x${frame.height}`;
    if (key !== this.drawnFor) {
      this.draw(style, frame.height);
      this.drawnFor = key;
    }
    const raster = this.raster;
    const marginX = Math.round(frame.width * MARGIN);
    const marginY = Math.round(frame.height * MARGIN);
    switch (style.placement) {
      case 'title':
        raster.blend(frame, Math.round((frame.width - raster.width) / 2), Math.round((frame.height - raster.height) / 2));
        break;
      case 'lower-third':
        raster.blend(frame, marginX, Math.round(frame.height * 0.78));
        break;
      case 'top-left':
        raster.blend(frame, marginX, marginY);
        break;
      case 'top-right':
        raster.blend(frame, frame.width - raster.width - marginX, marginY);
        break;
      case 'bottom-left':
        raster.blend(frame, marginX, frame.height - raster.height - marginY);
        break;
      case 'bottom-right':
        raster.blend(frame, frame.width - raster.width - marginX, frame.height - raster.height - marginY);
        break;
      case 'ticker': {
        // Enters at the right edge, leaves at the left, then starts again.
        const pixelsPerFrame = (style.tickerSpeed * frame.width) / 30;
        const travel = frame.width + raster.width;
        const offset = Math.floor((frameIndex * pixelsPerFrame) % travel);
        const x = frame.width - offset;
        const y = frame.height - raster.height - marginY;
        if (x >= 0) raster.blend(frame, x, y);
        else raster.blend(frame, 0, y, -x, raster.width + x);
        break;
      }
    }
  }

  private draw(style: TextOverlayStyle, frameHeight: number): void {
    const fontPixels = Math.max(8, Math.round(style.fontSize * frameHeight));
    const padding = Math.round(fontPixels * 0.35);
    const font = `${fontPixels}px "${OVERLAY_FONT}", sans-serif`;
    const width = measureTextWidth(font, style.text) + 2 * padding;
    const height = Math.ceil(fontPixels * 1.25) + 2 * padding;
    this.raster.draw(width, height, (context) => {
      if (style.background !== '') {
        context.fillStyle = style.background;
        context.fillRect(0, 0, width, height);
      }
      context.font = font;
      context.fillStyle = style.color;
      context.textBaseline = 'middle';
      context.fillText(style.text, padding, height / 2);
    });
  }
}
