import { z } from 'zod';
import type { Frame, FrameClock } from '../frame.js';
import { OVERLAY_FONT, OverlayRaster, measureTextWidth } from '../overlay-raster.js';
import type { Transform } from '../transform.js';
import { threadCaptionBoard, type CaptionBoard } from './caption-board.js';

export const subtitlesParams = z
  .object({
    position: z.enum(['bottom', 'top']).default('bottom'),
    /** Text height as a fraction of the frame height. */
    fontSize: z.number().min(0.02).max(0.12).default(0.055),
    /** `box`: a dark box behind the lines (the broadcast look, readable on any picture); `outline`: outlined text only. */
    background: z.enum(['box', 'outline']).default('box'),
  })
  .strict();
export type SubtitlesParams = z.infer<typeof subtitlesParams>;

const MARGIN = 0.06;
const MAX_LINES = 2;

/**
 * Burns the live caption in: the stream's captioner writes the current cue to a CaptionBoard, this
 * draws it with @napi-rs/canvas only when its text (or the frame size, or the style) changes and blends it on every frame.
 */
export class Subtitles implements Transform<SubtitlesParams> {
  readonly name = 'subtitles';
  readonly params = subtitlesParams;
  readonly heavy = false;
  private readonly raster = new OverlayRaster();
  private style: SubtitlesParams = subtitlesParams.parse({});
  private drawnVersion = -1;
  private drawnSize = -1;
  private hasText = false;

  constructor(private readonly board: CaptionBoard = threadCaptionBoard) {}

  /** How many times the caption was rasterized (tests check it is not per frame). */
  get draws(): number {
    return this.raster.draws;
  }

  configure(params: SubtitlesParams): void {
    this.style = params;
    this.drawnVersion = -1;
  }

  apply(frame: Frame, _clock: FrameClock): void {
    const board = this.board;
    if (board.lines.length === 0 || frame.captureMs > board.hideAtMs) return;
    const size = frame.width * 100_000 + frame.height;
    if (board.version !== this.drawnVersion || size !== this.drawnSize) {
      this.draw(board.lines, frame.height);
      this.drawnVersion = board.version;
      this.drawnSize = size;
    }
    if (!this.hasText) return;
    const raster = this.raster;
    const x = Math.round((frame.width - raster.width) / 2);
    const margin = Math.round(frame.height * MARGIN);
    const y = this.style.position === 'top' ? margin : frame.height - raster.height - margin;
    raster.blend(frame, x, y);
  }

  close(): void {}

  private draw(allLines: readonly string[], frameHeight: number): void {
    const lines = allLines.slice(-MAX_LINES).filter((line) => line !== '');
    this.hasText = lines.length > 0;
    if (!this.hasText) return;
    const fontPixels = Math.max(8, Math.round(this.style.fontSize * frameHeight));
    const padding = Math.round(fontPixels * 0.3);
    const lineHeight = Math.ceil(fontPixels * 1.25);
    const font = `${fontPixels}px "${OVERLAY_FONT}", sans-serif`;
    const width = Math.max(...lines.map((line) => measureTextWidth(font, line))) + 2 * padding;
    const height = lineHeight * lines.length + 2 * padding;
    const box = this.style.background === 'box';
    this.raster.draw(width, height, (context) => {
      if (box) {
        context.fillStyle = '#000000b0';
        context.fillRect(0, 0, width, height);
      }
      context.font = font;
      context.textBaseline = 'middle';
      context.textAlign = 'center';
      if (!box) {
        // Without a box an outline keeps the text readable on bright pictures.
        context.lineWidth = Math.max(2, Math.round(fontPixels / 8));
        context.strokeStyle = '#000000';
        lines.forEach((line, index) => context.strokeText(line, width / 2, padding + lineHeight * (index + 0.5)));
      }
      context.fillStyle = '#ffffff';
      lines.forEach((line, index) => context.fillText(line, width / 2, padding + lineHeight * (index + 0.5)));
    });
  }
}
