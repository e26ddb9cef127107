/** Side of the luma thumbnail a frame is compared on. */
export const SCENE_GRID_WIDTH = 64;
export const SCENE_GRID_HEIGHT = 36;
const CELLS = SCENE_GRID_WIDTH * SCENE_GRID_HEIGHT;

/**
 * A cheap scene-change score per frame: the Y plane sampled on a 64×36 grid (each sample the mean of
 * a 2×2 block) is compared with the previous frame's. `motion` is the mean absolute difference in
 * percent of full scale (0..100); `score` is how much that jumped from the previous frame's
 * (min(motion, |motion − previous motion|), as ffmpeg's `scdet` rates a cut), so steady motion is no cut.
 * Everything is allocated per resolution; `measure` allocates nothing.
 */
export class SceneChangeMeter {
  private offsets = new Int32Array(CELLS);
  private readonly previous = new Uint8Array(CELLS);
  private width = 0;
  private height = 0;
  private hasPrevious = false;
  private previousMotion = 0;
  /** Of the last measured frame. */
  motion = 0;
  score = 0;

  /** Measures one frame's Y plane (stride = width); the first frame after a size change scores 0. */
  measure(y: Uint8Array, width: number, height: number): void {
    if (width !== this.width || height !== this.height) this.resize(width, height);
    const offsets = this.offsets;
    const previous = this.previous;
    let sum = 0;
    for (let cell = 0; cell < CELLS; cell++) {
      const at = offsets[cell]!;
      const value = (y[at]! + y[at + 1]! + y[at + width]! + y[at + width + 1]! + 2) >> 2;
      const before = previous[cell]!;
      sum += value > before ? value - before : before - value;
      previous[cell] = value;
    }
    if (!this.hasPrevious) {
      this.hasPrevious = true;
      this.motion = 0;
      this.score = 0;
      return;
    }
    const motion = (sum * 100) / (255 * CELLS);
    const jump = Math.abs(motion - this.previousMotion);
    this.previousMotion = motion;
    this.motion = motion;
    this.score = Math.min(motion, jump);
  }

  /** Forget the previous frame (a decoder restart: the next frame is no cut). */
  reset(): void {
    this.hasPrevious = false;
    this.previousMotion = 0;
  }

  private resize(width: number, height: number): void {
    if (width < 2 || height < 2) throw new RangeError(`frame ${width}x${height} is too small to measure`);
    this.width = width;
    this.height = height;
    for (let row = 0; row < SCENE_GRID_HEIGHT; row++) {
      const y = Math.min(height - 2, Math.floor(((row + 0.5) * height) / SCENE_GRID_HEIGHT));
      for (let column = 0; column < SCENE_GRID_WIDTH; column++) {
        const x = Math.min(width - 2, Math.floor(((column + 0.5) * width) / SCENE_GRID_WIDTH));
        this.offsets[row * SCENE_GRID_WIDTH + column] = y * width + x;
      }
    }
    this.reset();
  }
}
