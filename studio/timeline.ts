import type { Aspect, CameraMove, Storyboard, StoryboardBody } from './storyboard.js';
import { outputSize } from './storyboard.js';
import type { ResolvedLook } from './looks.js';

// The compositor's one model of a video: a timeline of shots (the video track), each a stack of
// layers drawn in order — picture (clip, image or generated title background), look, text, captions —
// and an audio track of source sound, voice-over and music. Durations are whole frames, so shots,
// transitions and the stitched file agree to the frame.

export type Quality = 'preview' | 'high';

/** A transcript word on the recording's clock (seconds). */
export interface TimedWord {
  word: string;
  t: number;
  end: number;
}

export type PictureLayer =
  | { type: 'video'; recordingId: string; file: string; sha256: string; in: number; width: number; height: number; hasAudio: boolean }
  | { type: 'image'; assetId: string; file: string; sha256: string }
  | { type: 'title'; background: string };

export type OverlayLayer =
  | { type: 'text'; text: string; placement: 'center' | 'lower-third' }
  | { type: 'caption'; words: TimedWord[] };

export interface TimelineShot {
  index: number;
  kind: 'clip' | 'image' | 'title';
  /** First frame of the shot in the output. */
  startFrame: number;
  /** Frames the shot shows (its incoming transition included). */
  frames: number;
  /** Frames of the incoming transition (0 for a cut and for the first shot). */
  transitionFrames: number;
  transition: 'cut' | 'fade' | 'wipe' | 'slide' | 'zoom';
  /** Frames rendered past the shot's end for the next shot's transition to blend from. */
  handleFrames: number;
  camera: CameraMove;
  picture: PictureLayer;
  overlays: OverlayLayer[];
  /** The look applies to recorded and uploaded pictures; generated title cards keep their colours. */
  lookApplies: boolean;
}

export interface Timeline {
  width: number;
  height: number;
  fps: number;
  quality: Quality;
  aspect: Aspect;
  seed: number;
  look: ResolvedLook;
  shots: TimelineShot[];
  frames: number;
  music?: StoryboardBody['music'];
  voiceover?: StoryboardBody['voiceover'];
  captions: boolean;
}

/** Title backgrounds: picked by the seed, so a storyboard renders the same cards every time. */
const TITLE_BACKGROUNDS = ['0x1b2a4a', '0x2d1b3d', '0x123b35', '0x3b2414', '0x202020'];

export interface ResolvedShotSource {
  picture: PictureLayer;
  /** Transcript words of the shot's source range (empty without a transcript). */
  words: TimedWord[];
}

/** Lays a storyboard out in frames. `sources[i]` is shot i's resolved picture (undefined for titles). */
export function buildTimeline(storyboard: StoryboardBody | Storyboard, quality: Quality, seed: number, look: ResolvedLook, sources: (ResolvedShotSource | undefined)[]): Timeline {
  const { width, height, fps } = outputSize(storyboard.aspect, quality);
  const frames = storyboard.shots.map((shot) => Math.max(1, Math.round(shot.duration * fps)));
  const transitionFrames = storyboard.shots.map((shot, index) => {
    if (index === 0 || !shot.transition || shot.transition.name === 'cut') return 0;
    // A transition never eats a whole shot: at least one frame of each side stays its own.
    return Math.max(0, Math.min(Math.round(shot.transition.duration * fps), frames[index]! - 1, frames[index - 1]! - 1));
  });
  let startFrame = 0;
  const shots = storyboard.shots.map((shot, index): TimelineShot => {
    const source = sources[index];
    const picture: PictureLayer = source?.picture ?? { type: 'title', background: TITLE_BACKGROUNDS[(seed + index) % TITLE_BACKGROUNDS.length]! };
    const overlays: OverlayLayer[] = [];
    if (shot.text) overlays.push({ type: 'text', text: shot.text, placement: shot.kind === 'title' ? 'center' : 'lower-third' });
    if (storyboard.captions && source && source.words.length > 0) overlays.push({ type: 'caption', words: source.words });
    const entry: TimelineShot = {
      index,
      kind: shot.kind,
      startFrame,
      frames: frames[index]!,
      transitionFrames: transitionFrames[index]!,
      transition: transitionFrames[index]! > 0 ? shot.transition!.name : 'cut',
      handleFrames: transitionFrames[index + 1] ?? 0,
      camera: shot.kind === 'title' ? 'static' : (shot.camera ?? 'static'),
      picture,
      overlays,
      lookApplies: picture.type !== 'title',
    };
    startFrame += entry.frames;
    return entry;
  });
  return {
    width,
    height,
    fps,
    quality,
    aspect: storyboard.aspect,
    seed,
    look,
    shots,
    frames: startFrame,
    ...(storyboard.music ? { music: storyboard.music } : {}),
    ...(storyboard.voiceover ? { voiceover: storyboard.voiceover } : {}),
    captions: storyboard.captions,
  };
}

/** The source seconds a clip shot reads: its frames plus the handle for the next transition. */
export function sourceSeconds(timeline: Timeline, shot: TimelineShot): number {
  return (shot.frames + shot.handleFrames) / timeline.fps;
}
