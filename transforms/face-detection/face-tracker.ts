import { FACE_FLOATS } from './detector-protocol.js';

/** Extra margin (share of the face size per side) a box gets for each detection that missed it. */
const MISSED_GROWTH = 0.1;
/** A detection is the same face as a track when their centres are closer than this share of the face size. */
const SAME_FACE_DISTANCE = 0.75;

/**
 * Faces between detections: each track moves at the constant velocity of its last two detections,
 * is held (and grown) for a few detections that miss it, and goes when it has been gone too long.
 * Boxes are in 0..1 of the frame, so a change of resolution changes nothing here. No allocation
 * after construction.
 */
export class FaceTracker {
  private readonly active: Uint8Array;
  private readonly matched: Uint8Array;
  private readonly missed: Uint8Array;
  private readonly centreX: Float64Array;
  private readonly centreY: Float64Array;
  private readonly width: Float64Array;
  private readonly height: Float64Array;
  private readonly velocityX: Float64Array;
  private readonly velocityY: Float64Array;
  private readonly lastSeen: Float64Array;
  private lastUpdate = -1;

  constructor(private readonly capacity: number) {
    this.active = new Uint8Array(capacity);
    this.matched = new Uint8Array(capacity);
    this.missed = new Uint8Array(capacity);
    this.centreX = new Float64Array(capacity);
    this.centreY = new Float64Array(capacity);
    this.width = new Float64Array(capacity);
    this.height = new Float64Array(capacity);
    this.velocityX = new Float64Array(capacity);
    this.velocityY = new Float64Array(capacity);
    this.lastSeen = new Float64Array(capacity);
  }

  /** Tracks alive now. */
  get size(): number {
    let count = 0;
    for (let track = 0; track < this.capacity; track++) count += this.active[track]!;
    return count;
  }

  /** Takes over another tracker's tracks (same capacity). */
  copyFrom(other: FaceTracker): void {
    this.active.set(other.active);
    this.missed.set(other.missed);
    this.centreX.set(other.centreX);
    this.centreY.set(other.centreY);
    this.width.set(other.width);
    this.height.set(other.height);
    this.velocityX.set(other.velocityX);
    this.velocityY.set(other.velocityY);
    this.lastSeen.set(other.lastSeen);
    this.lastUpdate = other.lastUpdate;
  }

  clear(): void {
    this.active.fill(0);
    this.lastUpdate = -1;
  }

  /**
   * Folds in the detection made on frame `frameIndex`: `count` faces of FACE_FLOATS each (left,
   * top, width, height, score). Faces lower than `minHeight` (0..1 of the frame) are ignored. Tracks
   * it misses more than `holdDetections` times in a row end; a miss counts only where `searched`
   * (centre and height of the track) says the detection looked (tiles spread over rounds).
   */
  update(frameIndex: number, faces: Float32Array, count: number, minConfidence: number, holdDetections: number, minHeight = 0, searched?: (centreX: number, centreY: number, height: number) => boolean): void {
    // Frame numbers went back: a new sequence, nothing carries over.
    if (frameIndex < this.lastUpdate) this.clear();
    this.lastUpdate = frameIndex;
    this.matched.fill(0);
    for (let face = 0; face < count; face++) {
      const offset = face * FACE_FLOATS;
      if (faces[offset + 4]! < minConfidence) continue;
      const width = faces[offset + 2]!;
      const height = faces[offset + 3]!;
      if (height < minHeight) continue;
      const centreX = faces[offset]! + width / 2;
      const centreY = faces[offset + 1]! + height / 2;
      let best = -1;
      let bestDistance = Number.POSITIVE_INFINITY;
      for (let track = 0; track < this.capacity; track++) {
        if (!this.active[track] || this.matched[track]) continue;
        const ahead = frameIndex - this.lastSeen[track]!;
        const distance = Math.hypot(this.centreX[track]! + this.velocityX[track]! * ahead - centreX, this.centreY[track]! + this.velocityY[track]! * ahead - centreY);
        if (distance < SAME_FACE_DISTANCE * Math.max(width, this.width[track]!) && distance < bestDistance) {
          best = track;
          bestDistance = distance;
        }
      }
      if (best >= 0) {
        const since = frameIndex - this.lastSeen[best]!;
        if (since > 0) {
          this.velocityX[best] = (centreX - this.centreX[best]!) / since;
          this.velocityY[best] = (centreY - this.centreY[best]!) / since;
        }
      } else {
        best = this.active.indexOf(0);
        if (best < 0) continue;
        this.active[best] = 1;
        this.velocityX[best] = 0;
        this.velocityY[best] = 0;
      }
      this.centreX[best] = centreX;
      this.centreY[best] = centreY;
      this.width[best] = width;
      this.height[best] = height;
      this.lastSeen[best] = frameIndex;
      this.missed[best] = 0;
      this.matched[best] = 1;
    }
    for (let track = 0; track < this.capacity; track++) {
      if (!this.active[track] || this.matched[track]) continue;
      if (searched && !searched(this.centreX[track]!, this.centreY[track]!, this.height[track]!)) continue;
      this.missed[track]!++;
      if (this.missed[track]! > holdDetections) this.active[track] = 0;
    }
  }

  /**
   * Writes each track's box on frame `frameIndex` into `out` as left, top, right, bottom (0..1),
   * grown by `margin` of the face size per side; returns how many. A track is extrapolated at most
   * `maxAheadFrames` past its last detection and dropped after `staleFrames` without one.
   */
  predict(frameIndex: number, margin: number, maxAheadFrames: number, staleFrames: number, out: Float64Array): number {
    let count = 0;
    for (let track = 0; track < this.capacity; track++) {
      if (!this.active[track]) continue;
      const since = frameIndex - this.lastSeen[track]!;
      if (since > staleFrames || since < 0) {
        this.active[track] = 0;
        continue;
      }
      const ahead = Math.min(since, maxAheadFrames);
      const centreX = this.centreX[track]! + this.velocityX[track]! * ahead;
      const centreY = this.centreY[track]! + this.velocityY[track]! * ahead;
      const grow = 0.5 + margin + MISSED_GROWTH * this.missed[track]!;
      const halfWidth = this.width[track]! * grow;
      const halfHeight = this.height[track]! * grow;
      out[count * 4] = centreX - halfWidth;
      out[count * 4 + 1] = centreY - halfHeight;
      out[count * 4 + 2] = centreX + halfWidth;
      out[count * 4 + 3] = centreY + halfHeight;
      count++;
    }
    return count;
  }
}
