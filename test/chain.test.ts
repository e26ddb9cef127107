import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Chain, type ChainEntry } from '../transforms/chain.js';
import { I420Frame, type Frame, type FrameClock } from '../transforms/frame.js';
import { HalfResolution } from '../transforms/half-resolution.js';
import type { Transform } from '../transforms/transform.js';

/** Adds a constant to every luma sample; `cost` advances a manual clock to simulate a slow kernel. */
class AddLuma implements Transform<{ amount: number }> {
  readonly params = z.object({ amount: z.number() });
  closed = false;
  applied = 0;
  constructor(
    readonly name: string,
    private amount: number,
    readonly heavy = false,
    private readonly clock?: { now: number; cost: number },
  ) {}
  configure(params: { amount: number }): void {
    this.amount = params.amount;
  }
  apply(frame: Frame, _clock: FrameClock): void {
    this.applied++;
    for (let index = 0; index < frame.y.length; index++) frame.y[index] = Math.min(255, frame.y[index]! + this.amount);
    if (this.clock) this.clock.now += this.clock.cost;
  }
  close(): void {
    this.closed = true;
  }
}

/** A transform that can work at half resolution; it advances a manual clock by `cost` ms, `halfShare` of that at half. */
class Scalable implements Transform<Record<string, never>> {
  readonly params = z.object({}).strict();
  readonly resolution = new HalfResolution();
  applied = 0;
  appliedAtHalf = 0;
  constructor(
    readonly name: string,
    readonly heavy: boolean,
    private readonly clock: { now: number },
    public cost: number,
    private readonly halfShare = 0.25,
  ) {}
  configure(): void {}
  apply(_frame: Frame, _clock: FrameClock): void {
    this.applied++;
    if (this.resolution.active) this.appliedAtHalf++;
    this.clock.now += this.resolution.active ? this.cost * this.halfShare : this.cost;
  }
  close(): void {}
}

const clockAt = (frameIndex: number): FrameClock => ({ frameIndex, frameIntervalMs: 33.3 });

/** Every transform given, enabled, in that order. */
const allEnabled = (...transforms: Transform<unknown>[]): ChainEntry[] => transforms.map((transform) => ({ transform, enabled: true }));

/** Runs frames `from` … `to` − 1 of a 2×2 picture through `chain` (for tests of timing, not of pixels). */
function runFrames(chain: Chain, from: number, to: number): void {
  const frame = new I420Frame(2, 2);
  for (let index = from; index < to; index++) chain.apply(frame, clockAt(index));
}

describe('Chain', () => {
  it('applies enabled transforms in order and skips disabled ones', () => {
    const chain = new Chain();
    const frame = new I420Frame(4, 4);
    chain.replace([
      { transform: new AddLuma('a', 10), enabled: true },
      { transform: new AddLuma('b', 100), enabled: false },
      { transform: new AddLuma('c', 5), enabled: true },
    ]);
    chain.apply(frame, clockAt(0));
    expect([...frame.y]).toEqual(new Array(16).fill(15));
    expect(chain.stats().transforms.map((timing) => [timing.name, timing.enabled])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
    ]);
  });

  it('swaps a new spec in at the next frame boundary and closes what it replaced', () => {
    const chain = new Chain();
    const frame = new I420Frame(2, 2);
    const first = new AddLuma('first', 1);
    const second = new AddLuma('second', 2);
    chain.replace(allEnabled(first));
    chain.apply(frame, clockAt(0));
    chain.replace(allEnabled(second));
    // Nothing changes until the next frame starts.
    expect(first.closed).toBe(false);
    chain.apply(frame, clockAt(1));
    expect(first.closed).toBe(true);
    expect(first.applied).toBe(1);
    expect(second.applied).toBe(1);
    expect([...frame.y]).toEqual([3, 3, 3, 3]);
  });

  it('closes a change that never reached a frame when another replaces it, and keeps what is shared or running', () => {
    const chain = new Chain();
    const frame = new I420Frame(2, 2);
    const running = new AddLuma('running', 1);
    // Shared by every spec, as the pipeline's burn-in entry is.
    const shared: ChainEntry = { transform: new AddLuma('shared', 0), enabled: true };
    chain.replace([...allEnabled(running), shared]);
    chain.apply(frame, clockAt(0));
    const skipped = new AddLuma('skipped', 5);
    chain.replace([...allEnabled(skipped, running), shared]);
    const last = new AddLuma('last', 2);
    chain.replace([...allEnabled(last), shared]);
    // The change in between never ran: its own transform is closed at once (WebAssembly kernels hold memory no GC frees).
    expect(skipped.closed).toBe(true);
    expect(running.closed).toBe(false);
    expect((shared.transform as AddLuma).closed).toBe(false);
    chain.apply(frame, clockAt(1));
    expect(running.closed).toBe(true);
    expect((shared.transform as AddLuma).closed).toBe(false);
    expect(skipped.applied).toBe(0);
    expect(last.applied).toBe(1);
  });

  it('runs heavy transforms every other frame while over budget, and recovers when cheap again', () => {
    const time = { now: 0, cost: 30 };
    const chain = new Chain(() => time.now);
    const heavy = new AddLuma('heavy', 0, true, time);
    const light = new AddLuma('light', 0, false);
    chain.replace(allEnabled(heavy, light));
    runFrames(chain, 0, 60);
    const stats = chain.stats();
    expect(stats.degraded).toBe(true);
    expect(stats.framesOverDeadline).toBe(0);
    expect(stats.transforms[0]!.skippedFrames).toBeGreaterThan(10);
    expect(light.applied).toBe(60);
    time.cost = 1;
    runFrames(chain, 60, 200);
    expect(chain.stats().degraded).toBe(false);
  });

  it('turns heavy transforms off altogether when every other frame is still too slow, and tries them again later', () => {
    const time = { now: 0, cost: 80 };
    const chain = new Chain(() => time.now);
    const heavy = new AddLuma('heavy', 0, true, time);
    const light = new AddLuma('light', 0, false);
    chain.replace(allEnabled(heavy, light));
    runFrames(chain, 0, 100);
    // 80 ms every other frame is 40 ms a frame, over 60 % of 33 ms: the heavy one goes off.
    expect(chain.stats()).toMatchObject({ degraded: true, heavyOff: true });
    const appliedWhenOff = heavy.applied;
    runFrames(chain, 100, 250);
    expect(heavy.applied).toBe(appliedWhenOff);
    expect(light.applied).toBe(250);
    // The load passes: on the next try (300 frames on) it runs again, and the chain recovers.
    time.cost = 1;
    runFrames(chain, 250, 800);
    expect(heavy.applied).toBeGreaterThan(appliedWhenOff + 100);
    expect(chain.stats()).toMatchObject({ degraded: false, heavyOff: false });
  });

  it('never degrades when built for offline renders, but still times every transform', () => {
    const time = { now: 0, cost: 30 };
    const chain = new Chain(() => time.now, { adaptive: false });
    const heavy = new AddLuma('heavy', 0, true, time);
    const scalable = new Scalable('toon-like', false, time, 30);
    chain.replace(allEnabled(heavy, scalable));
    runFrames(chain, 0, 100);
    const stats = chain.stats();
    expect(stats.degraded).toBe(false);
    expect(stats.halfResolution).toBe(false);
    expect(heavy.applied).toBe(100);
    expect(scalable.appliedAtHalf).toBe(0);
    expect(stats.transforms[0]!.averageMs).toBeCloseTo(30);
    expect(stats.framesOverDeadline).toBe(100);
  });

  it('passes what a transform says an operator must know into its stats, only while it is enabled', () => {
    const chain = new Chain();
    const noted = Object.assign(new AddLuma('noted', 0), { note: 'faces not blurred yet' as string | undefined, operatorNote(this: { note: string | undefined }) { return this.note; } });
    chain.replace(allEnabled(noted, new AddLuma('quiet', 0)));
    const frame = new I420Frame(2, 2);
    chain.apply(frame, clockAt(0));
    expect(chain.stats().transforms.map((timing) => timing.note)).toEqual(['faces not blurred yet', undefined]);
    noted.note = undefined;
    expect(chain.stats().transforms[0]!.note).toBeUndefined();
    noted.note = 'again';
    chain.replace([{ transform: noted, enabled: false }]);
    chain.apply(frame, clockAt(1));
    expect(chain.stats().transforms[0]!.note).toBeUndefined();
  });

  it('counts frames whose chain time exceeds the frame interval', () => {
    const time = { now: 0, cost: 50 };
    const chain = new Chain(() => time.now);
    chain.replace(allEnabled(new AddLuma('slow', 0, false, time)));
    runFrames(chain, 0, 5);
    expect(chain.stats().framesOverDeadline).toBe(5);
    // Not heavy, so degrading cannot help: the chain reports the overrun instead of pretending.
    expect(chain.stats().degraded).toBe(false);
  });

  it('closes every transform once on close and refuses new specs after', () => {
    const chain = new Chain();
    const transform = new AddLuma('a', 1);
    chain.replace(allEnabled(transform));
    chain.apply(new I420Frame(2, 2), clockAt(0));
    chain.close();
    chain.close();
    expect(transform.closed).toBe(true);
    expect(() => chain.replace([])).toThrow(/closed/);
  });

  it('puts a transform that can work at half resolution there before skipping anything, and back at full when it can', () => {
    const time = { now: 0 };
    const chain = new Chain(() => time.now);
    const scalable = new Scalable('toon-like', true, time, 30);
    chain.replace(allEnabled(scalable));
    const frame = new I420Frame(2, 2);
    runFrames(chain, 0, 60);
    let stats = chain.stats();
    // 30 ms of 33.3 is over 60 %; at half resolution 7.5 ms is not, so frames need not be skipped.
    expect(stats.halfResolution).toBe(true);
    expect(stats.degraded).toBe(false);
    expect(stats.transforms[0]).toMatchObject({ halfResolution: true, skippedFrames: 0 });
    expect(scalable.applied).toBe(60);
    expect(scalable.appliedAtHalf).toBeGreaterThan(40);
    // Cheap again: 4 ms at full resolution predicts well under half the interval.
    scalable.cost = 4;
    runFrames(chain, 60, 200);
    stats = chain.stats();
    expect(stats.halfResolution).toBe(false);
    expect(stats.transforms[0]!.halfResolution).toBe(false);
    const atHalf = scalable.appliedAtHalf;
    chain.apply(frame, clockAt(200));
    expect(scalable.appliedAtHalf).toBe(atHalf);
  });

  it('stays at half resolution while full resolution would put it over budget again', () => {
    const time = { now: 0 };
    const chain = new Chain(() => time.now);
    const scalable = new Scalable('toon-like', false, time, 30);
    chain.replace(allEnabled(scalable));
    // 7.5 ms at half resolution is under the 35 % recovery mark, but 30 ms at full would be over 60 %.
    runFrames(chain, 0, 300);
    expect(chain.stats().halfResolution).toBe(true);
    expect(scalable.appliedAtHalf).toBeGreaterThan(280);
  });

  it('learns what half resolution saves for each transform, so one that only halves its cost comes back sooner', () => {
    const time = { now: 0 };
    const chain = new Chain(() => time.now);
    // Scaling down and up costs something too: this one is only twice as cheap at half resolution.
    const scalable = new Scalable('sketch-like', false, time, 30, 0.5);
    chain.replace(allEnabled(scalable));
    runFrames(chain, 0, 60);
    expect(chain.stats().halfResolution).toBe(true);
    // 12 ms at full is 36 % of the interval: it fits. At half (6 ms), assuming the 4× saving would predict 24 ms and keep it there.
    scalable.cost = 12;
    runFrames(chain, 60, 200);
    expect(chain.stats().halfResolution).toBe(false);
    // And it stays at full: 12 ms is under the 60 % mark.
    const atHalf = scalable.appliedAtHalf;
    runFrames(chain, 200, 300);
    expect(scalable.appliedAtHalf).toBe(atHalf);
  });

  it('still skips every other frame of a heavy transform without the capability once half resolution is not enough', () => {
    // Both advance one manual clock: the scalable one by 40 ms (10 at half), the heavy one by 15.
    const time = { now: 0, cost: 15 };
    const chain = new Chain(() => time.now);
    const scalable = new Scalable('toon-like', false, time, 40);
    const heavy = new AddLuma('lut-like', 0, true, time);
    chain.replace(allEnabled(scalable, heavy));
    const frame = new I420Frame(2, 2);
    let skippedWhenHalfStarted = -1;
    for (let index = 0; index < 120; index++) {
      chain.apply(frame, clockAt(index));
      if (skippedWhenHalfStarted < 0 && chain.stats().halfResolution) skippedWhenHalfStarted = chain.stats().transforms[1]!.skippedFrames;
    }
    const stats = chain.stats();
    // Half resolution came first, with nothing skipped yet; 10 + 15 ms is still over 60 %, so the heavy one then skips.
    expect(skippedWhenHalfStarted).toBe(0);
    expect(stats.halfResolution).toBe(true);
    expect(stats.degraded).toBe(true);
    expect(stats.transforms[1]!.skippedFrames).toBeGreaterThan(20);
    expect(stats.transforms[0]!.skippedFrames).toBe(0);
    expect(scalable.applied).toBe(120);
  });

  it('leaves a resolution the operator fixed alone and degrades the heavy way instead', () => {
    const time = { now: 0 };
    const chain = new Chain(() => time.now);
    const fixed = new Scalable('fixed', true, time, 30);
    fixed.resolution.choice = 'full';
    chain.replace(allEnabled(fixed));
    runFrames(chain, 0, 60);
    const stats = chain.stats();
    expect(stats.halfResolution).toBe(false);
    expect(stats.degraded).toBe(true);
    expect(stats.transforms[0]).toMatchObject({ halfResolution: false });
    expect(fixed.appliedAtHalf).toBe(0);
  });

  it('starts transforms swapped in while degraded at half resolution, so a parameter change does not flash full', () => {
    const time = { now: 0 };
    const chain = new Chain(() => time.now);
    chain.replace(allEnabled(new Scalable('before', false, time, 30)));
    const frame = new I420Frame(2, 2);
    runFrames(chain, 0, 60);
    const after = new Scalable('after', false, time, 30);
    chain.replace(allEnabled(after));
    chain.apply(frame, clockAt(60));
    expect(after.appliedAtHalf).toBe(1);
    expect(chain.stats().transforms[0]).toMatchObject({ name: 'after', halfResolution: true });
  });
});
