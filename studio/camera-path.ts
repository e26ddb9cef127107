// The follow-face camera: from faces sampled a few times a second to one crop window per output
// frame. The window holds still while the face moves inside a dead zone around its centre, and its
// path is smoothed by a centred moving average, so it glides after the face instead of jittering with
// every detection.

/** A face in a sampled picture, in 0..1 of the picture. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface FaceSample {
  /** Seconds from the shot's first frame. */
  t: number;
  faces: FaceBox[];
}

export interface CameraPathOptions {
  samples: readonly FaceSample[];
  /** Output frames of the shot (its handle included) and their rate. */
  frames: number;
  fps: number;
  sourceWidth: number;
  sourceHeight: number;
  /** The crop window, in source pixels (the largest box of the output's aspect). */
  cropWidth: number;
  cropHeight: number;
}

/** The crop window's top-left corner per output frame, in source pixels (even, inside the source). */
export interface CameraPath {
  x: number[];
  y: number[];
}

/** The face may wander this far from the window's centre (share of the window) before the window moves. */
const DEAD_ZONE = 0.08;
/** The moving average spans this many seconds: long enough to hide detector jitter, short enough to keep up. */
const SMOOTHING_S = 0.8;
/** A face this close to the one followed (share of the picture's width) is the same person. */
const SAME_PERSON = 0.15;

/** The crop window of the cover fit: the largest box of the output's aspect inside the source, even sides. */
export function coverCrop(sourceWidth: number, sourceHeight: number, outWidth: number, outHeight: number): { width: number; height: number } {
  const ratio = outWidth / outHeight;
  if (sourceWidth / sourceHeight > ratio) return { width: Math.trunc((sourceHeight * ratio) / 2) * 2, height: Math.trunc(sourceHeight / 2) * 2 };
  return { width: Math.trunc(sourceWidth / 2) * 2, height: Math.trunc(sourceWidth / ratio / 2) * 2 };
}

/** The face to follow in each sample: the largest, unless the one followed so far is still there and not much smaller. */
function followedFaces(samples: readonly FaceSample[]): ({ t: number; x: number; y: number } | undefined)[] {
  let previous: { x: number; y: number } | undefined;
  return samples.map((sample) => {
    let best: FaceBox | undefined;
    let bestWeight = 0;
    for (const face of sample.faces) {
      const centreX = face.x + face.width / 2;
      const centreY = face.y + face.height / 2;
      const near = previous !== undefined && Math.hypot(centreX - previous.x, centreY - previous.y) < SAME_PERSON;
      const weight = face.width * face.height * (near ? 2 : 1);
      if (weight > bestWeight) {
        best = face;
        bestWeight = weight;
      }
    }
    if (!best) return undefined;
    previous = { x: best.x + best.width / 2, y: best.y + best.height / 2 };
    return { t: sample.t, ...previous };
  });
}

/** One axis: the face centre per frame → the window's start per frame (dead zone, then moving average, then clamped). */
function axisPath(targets: Float64Array, window: number, span: number): number[] {
  const frames = targets.length;
  const lazy = new Float64Array(frames);
  const deadZone = DEAD_ZONE * window;
  let centre = targets[0]!;
  for (let frame = 0; frame < frames; frame++) {
    const target = targets[frame]!;
    if (target - centre > deadZone) centre = target - deadZone;
    else if (centre - target > deadZone) centre = target + deadZone;
    lazy[frame] = centre;
  }
  const half = Math.max(0, Math.floor(span / 2));
  const starts: number[] = [];
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let offset = -half; offset <= half; offset++) sum += lazy[Math.min(frames - 1, Math.max(0, frame + offset))]!;
    starts.push(sum / (2 * half + 1) - window / 2);
  }
  return starts;
}

/**
 * The follow-face path of a shot, or undefined when no sample has a face (the shot then keeps the
 * centred crop). Between samples the face centre is interpolated linearly; before the first face and
 * after the last it is held.
 */
export function followFacePath(options: CameraPathOptions): CameraPath | undefined {
  const followed = followedFaces(options.samples).filter((sample): sample is { t: number; x: number; y: number } => sample !== undefined);
  if (followed.length === 0) return undefined;
  const { frames, fps, sourceWidth, sourceHeight, cropWidth, cropHeight } = options;
  const targetsX = new Float64Array(frames);
  const targetsY = new Float64Array(frames);
  let next = 0;
  for (let frame = 0; frame < frames; frame++) {
    const t = frame / fps;
    while (next < followed.length && followed[next]!.t <= t) next++;
    const before = followed[next - 1];
    const after = followed[next];
    let x: number;
    let y: number;
    if (!before) ({ x, y } = after!);
    else if (!after) ({ x, y } = before);
    else {
      const share = (t - before.t) / (after.t - before.t);
      x = before.x + (after.x - before.x) * share;
      y = before.y + (after.y - before.y) * share;
    }
    targetsX[frame] = x * sourceWidth;
    targetsY[frame] = y * sourceHeight;
  }
  const span = Math.round(SMOOTHING_S * fps);
  const clampEven = (value: number, room: number): number => Math.min(room, Math.max(0, Math.round(value / 2) * 2));
  const roomX = Math.max(0, sourceWidth - cropWidth);
  const roomY = Math.max(0, sourceHeight - cropHeight);
  return {
    x: axisPath(targetsX, cropWidth, span).map((start) => clampEven(start, roomX - (roomX % 2))),
    y: axisPath(targetsY, cropHeight, span).map((start) => clampEven(start, roomY - (roomY % 2))),
  };
}

/** The path as ffmpeg `sendcmd` commands for a crop named `crop@<name>`: one line per frame whose window moved. */
export function cropCommands(path: CameraPath, fps: number, name: string): string {
  const lines: string[] = [];
  for (let frame = 0; frame < path.x.length; frame++) {
    // The first frame always has a line (sendcmd refuses an empty file).
    if (frame > 0 && path.x[frame] === path.x[frame - 1] && path.y[frame] === path.y[frame - 1]) continue;
    // Half a frame early: the command is in place when the frame's timestamp reaches the filter.
    lines.push(`${(Math.max(0, frame - 0.5) / fps).toFixed(6)} crop@${name} x ${path.x[frame]}, crop@${name} y ${path.y[frame]};`);
  }
  return `${lines.join('\n')}\n`;
}
