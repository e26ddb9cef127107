import { z } from 'zod';
import type { Frame, FrameClock } from './frame.js';
import { HalfResolution, resolutionChoice } from './half-resolution.js';
import type { Transform } from './transform.js';

export const toonParams = z
  .object({
    /** Luma bands after posterizing. */
    levels: z.number().int().min(2).max(16).default(5),
    /** Luma step (in 8-bit levels) where dark lines start; they are fully dark at twice the step. */
    edgeThreshold: z.number().min(1).max(255).default(24),
    /** How dark the lines get (0 = no lines, 1 = black). */
    edgeStrength: z.number().min(0).max(1).default(0.85),
    /** Passes of the edge-preserving smoothing before posterizing (0 = none). */
    smoothing: z.number().int().min(0).max(4).default(1),
    /** Chroma gain (1 = unchanged): cartoons are flatter and more saturated. */
    saturation: z.number().min(0).max(3).default(1.3),
    resolution: resolutionChoice,
  })
  .strict();
export type ToonParams = z.infer<typeof toonParams>;

/** Fixed point of the smoothing's reciprocal table: a weighted sum times its reciprocal stays under 255·2^21. */
const RECIPROCAL_BITS = 21;
/** Weight of the centre sample of the smoothing; a neighbour as close in value weighs half as much. */
const CENTRE_WEIGHT = 128;
/** Largest Sobel magnitude after >> 2 (|gx| + |gy| ≤ 2·1020). */
const MAX_MAGNITUDE = 510;
const NO_INK = 256;

/**
 * Cartoon look: luma is smoothed where it is flat but not across edges (passes of a 5-tap cross
 * whose neighbours weigh by how close they are in value), posterized into bands, and inked where
 * the Sobel gradient exceeds a threshold; chroma is boosted and inked with the same lines.
 */
export class Toon implements Transform<ToonParams> {
  readonly name = 'toon';
  readonly params = toonParams;
  readonly heavy = false;
  readonly resolution = new HalfResolution();
  protected settings: ToonParams = toonParams.parse({});
  protected readonly neighbourWeight = new Uint8Array(511);
  protected readonly reciprocal = new Uint32Array(2 * CENTRE_WEIGHT + 1);
  protected readonly posterized = new Uint8Array(256);
  protected readonly inkGain = new Uint16Array(MAX_MAGNITUDE + 1);
  protected readonly saturated = new Int16Array(256);
  private scratchA = new Uint8Array(0);
  private scratchB = new Uint8Array(0);
  private ink = new Uint16Array(0);
  private sizedWidth = 0;
  private sizedHeight = 0;

  constructor() {
    for (let sum = 0; sum < this.reciprocal.length; sum++) this.reciprocal[sum] = Math.round(2 ** RECIPROCAL_BITS / (CENTRE_WEIGHT + sum));
    this.configure(this.settings);
  }

  configure(params: ToonParams): void {
    this.settings = params;
    this.resolution.choice = params.resolution;
    // Neighbours closer than about half the edge threshold take part in smoothing; steps beyond it stay sharp.
    const sigma = Math.max(3, params.edgeThreshold / 2);
    for (let difference = -255; difference <= 255; difference++) {
      this.neighbourWeight[difference + 255] = Math.round((CENTRE_WEIGHT / 2) * Math.exp(-((difference / sigma) ** 2)));
    }
    // Band centres, so the darkest band is not crushed to black nor the brightest to white.
    for (let value = 0; value < 256; value++) {
      const share = Math.min(1, Math.max(0, (value - 16) / 219));
      const band = Math.min(params.levels - 1, Math.floor(share * params.levels));
      this.posterized[value] = Math.round(16 + (219 * (band + 0.5)) / params.levels);
    }
    const threshold = params.edgeThreshold;
    for (let magnitude = 0; magnitude <= MAX_MAGNITUDE; magnitude++) {
      const ramp = Math.min(1, Math.max(0, (magnitude - threshold) / threshold));
      this.inkGain[magnitude] = Math.round(NO_INK * (1 - params.edgeStrength * ramp));
    }
    for (let value = 0; value < 256; value++) this.saturated[value] = Math.min(255, Math.max(0, Math.round(128 + (value - 128) * params.saturation))) - 128;
  }

  apply(frame: Frame, _clock: FrameClock): void {
    const { width, height } = frame;
    this.size(width, height);
    const chromaWidth = Math.ceil(width / 2);
    const chromaHeight = Math.ceil(height / 2);
    if (this.resolution.active) {
      const half = this.resolution;
      half.prepare(width, height);
      half.downscale(frame, 'luma');
      // One pass at half size smooths about as far as two at full size.
      this.luma(half.y, half.width, half.height, Math.ceil(this.settings.smoothing / 2));
      half.upscale(frame, 'luma');
      // The half-size ink map has the chroma planes' size: one gain per chroma sample.
      inkChroma(frame.u, frame.v, chromaWidth, chromaHeight, this.ink, half.width, 1, this.saturated);
    } else {
      this.luma(frame.y, width, height, this.settings.smoothing);
      inkChroma(frame.u, frame.v, chromaWidth, chromaHeight, this.ink, width, 2, this.saturated);
    }
  }

  close(): void {}

  /** Smooths, posterizes and inks one width×height luma plane in place, leaving the ink gains in this.ink. */
  private luma(plane: Uint8Array, width: number, height: number, passes: number): void {
    // Passes alternate between the two scratch planes; the last one feeds the inking.
    let smoothed = plane;
    for (let pass = 0; pass < passes; pass++) {
      const target = pass % 2 === 0 ? this.scratchA : this.scratchB;
      smoothCross(smoothed, width, height, target, this.neighbourWeight, this.reciprocal);
      smoothed = target;
    }
    if (smoothed === plane) {
      this.scratchA.set(plane);
      smoothed = this.scratchA;
    }
    inkAndPosterize(smoothed, width, height, plane, this.ink, this.posterized, this.inkGain);
  }

  private size(width: number, height: number): void {
    if (width === this.sizedWidth && height === this.sizedHeight) return;
    // Full-size buffers also serve the half-resolution path, so switching never allocates.
    this.scratchA = new Uint8Array(width * height);
    this.scratchB = new Uint8Array(width * height);
    this.ink = new Uint16Array(width * height);
    this.sizedWidth = width;
    this.sizedHeight = height;
  }
}

/**
 * One pass of a 5-tap cross (centre and its four neighbours), each neighbour weighted by how close
 * it is in value to the centre, so flat areas blur and steps stay sharp. Border samples repeat.
 */
function smoothCross(source: Uint8Array, width: number, height: number, target: Uint8Array, weight: Uint8Array, reciprocal: Uint32Array): void {
  const last = width - 1;
  for (let row = 0; row < height; row++) {
    const start = row * width;
    const above = row > 0 ? start - width : start;
    const below = row < height - 1 ? start + width : start;
    let left = source[start]!;
    let centre = left;
    for (let column = 0; column < last; column++) {
      const right = source[start + column + 1]!;
      target[start + column] = smoothSample(centre, left, right, source[above + column]!, source[below + column]!, weight, reciprocal);
      left = centre;
      centre = right;
    }
    // The last column is its own right neighbour.
    target[start + last] = smoothSample(centre, left, centre, source[above + last]!, source[below + last]!, weight, reciprocal);
  }
}

/** One output of smoothCross: the weighted mean of a sample and its four neighbours. */
function smoothSample(centre: number, left: number, right: number, up: number, down: number, weight: Uint8Array, reciprocal: Uint32Array): number {
  // weight[neighbour − centre + 255], with the offset taken once.
  const offset = 255 - centre;
  const leftWeight = weight[left + offset]!;
  const rightWeight = weight[right + offset]!;
  const upWeight = weight[up + offset]!;
  const downWeight = weight[down + offset]!;
  const sum = CENTRE_WEIGHT * centre + leftWeight * left + rightWeight * right + upWeight * up + downWeight * down;
  return (sum * reciprocal[leftWeight + rightWeight + upWeight + downWeight]! + (1 << (RECIPROCAL_BITS - 1))) >>> RECIPROCAL_BITS;
}

/**
 * Sobel magnitude (|gx| + |gy|, / 4 so a step of h levels reads h) → ink gain; output luma is the
 * posterized band darkened towards black (16) by that gain. Edge samples repeat for the border.
 */
function inkAndPosterize(
  source: Uint8Array,
  width: number,
  height: number,
  target: Uint8Array,
  ink: Uint16Array,
  posterized: Uint8Array,
  inkGain: Uint16Array,
): void {
  const last = width - 1;
  for (let row = 0; row < height; row++) {
    const middle = row * width;
    const above = row > 0 ? middle - width : middle;
    const below = row < height - 1 ? middle + width : middle;
    // Per column: the vertical [1 2 1] sum (for gx) and bottom − top (for gy), slid along the row.
    let smoothLeft = source[above]! + 2 * source[middle]! + source[below]!;
    let differenceLeft = source[below]! - source[above]!;
    let smoothCentre = smoothLeft;
    let differenceCentre = differenceLeft;
    let centre = source[middle]!;
    for (let column = 0; column < width; column++) {
      const next = column < last ? column + 1 : last;
      const nextCentre = source[middle + next]!;
      const top = source[above + next]!;
      const bottom = source[below + next]!;
      const smoothRight = top + 2 * nextCentre + bottom;
      const differenceRight = bottom - top;
      const gx = smoothRight - smoothLeft;
      const gy = differenceLeft + 2 * differenceCentre + differenceRight;
      const gain = inkGain[(Math.abs(gx) + Math.abs(gy)) >> 2]!;
      ink[middle + column] = gain;
      target[middle + column] = 16 + (((posterized[centre]! - 16) * gain) >> 8);
      smoothLeft = smoothCentre;
      smoothCentre = smoothRight;
      differenceLeft = differenceCentre;
      differenceCentre = differenceRight;
      centre = nextCentre;
    }
  }
}

/**
 * Boosts chroma and pulls it to grey under the ink, so lines are black rather than dark colours.
 * `step` is how many ink samples one chroma sample spans (2 at full resolution, 1 at half).
 */
function inkChroma(
  u: Uint8Array,
  v: Uint8Array,
  chromaWidth: number,
  chromaHeight: number,
  ink: Uint16Array,
  inkWidth: number,
  step: number,
  saturated: Int16Array,
): void {
  for (let row = 0; row < chromaHeight; row++) {
    const start = row * chromaWidth;
    const inkRow = row * step * inkWidth;
    for (let column = 0; column < chromaWidth; column++) {
      const gain = ink[inkRow + column * step]!;
      u[start + column] = 128 + ((saturated[u[start + column]!]! * gain) >> 8);
      v[start + column] = 128 + ((saturated[v[start + column]!]! * gain) >> 8);
    }
  }
}
