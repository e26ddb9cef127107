/**
 * The caption on screen now, shared between the thread's captioner (which writes it when a cue changes)
 * and its `subtitles` transforms (which read it every frame). Mutated in place, so reading allocates nothing.
 */
export class CaptionBoard {
  /** At most 2 lines; empty when nothing is shown. */
  lines: readonly string[] = [];
  /** Bumped on every change of `lines`, so a transform redraws only then. */
  version = 0;
  /** Epoch ms after which the caption is no longer shown (Infinity while its words may still change). */
  hideAtMs = Number.POSITIVE_INFINITY;

  show(lines: readonly string[], hideAtMs: number): void {
    this.hideAtMs = hideAtMs;
    if (lines.length === this.lines.length && lines.every((line, index) => line === this.lines[index])) return;
    this.lines = [...lines];
    this.version++;
  }

  clear(): void {
    this.show([], Number.POSITIVE_INFINITY);
  }
}

/** One board per thread: a live stream's worker has one captioner, whose cues every subtitles transform in its chain shows. */
export const threadCaptionBoard = new CaptionBoard();
