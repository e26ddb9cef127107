import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Chain } from '../transforms/chain.js';
import { I420Frame, type Frame, type FrameClock } from '../transforms/frame.js';
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

const clockAt = (frameIndex: number): FrameClock => ({ frameIndex, frameIntervalMs: 33.3 });

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
    chain.replace([{ transform: first, enabled: true }]);
    chain.apply(frame, clockAt(0));
    chain.replace([{ transform: second, enabled: true }]);
    // Nothing changes until the next frame starts.
    expect(first.closed).toBe(false);
    chain.apply(frame, clockAt(1));
    expect(first.closed).toBe(true);
    expect(first.applied).toBe(1);
    expect(second.applied).toBe(1);
    expect([...frame.y]).toEqual([3, 3, 3, 3]);
  });

  it('runs heavy transforms every other frame while over budget, and recovers when cheap again', () => {
    const time = { now: 0, cost: 30 };
    const chain = new Chain(() => time.now);
    const heavy = new AddLuma('heavy', 0, true, time);
    const light = new AddLuma('light', 0, false);
    chain.replace([
      { transform: heavy, enabled: true },
      { transform: light, enabled: true },
    ]);
    const frame = new I420Frame(2, 2);
    for (let index = 0; index < 60; index++) chain.apply(frame, clockAt(index));
    const stats = chain.stats();
    expect(stats.degraded).toBe(true);
    expect(stats.framesOverDeadline).toBe(0);
    expect(stats.transforms[0]!.skippedFrames).toBeGreaterThan(10);
    expect(light.applied).toBe(60);
    time.cost = 1;
    for (let index = 60; index < 200; index++) chain.apply(frame, clockAt(index));
    expect(chain.stats().degraded).toBe(false);
  });

  it('counts frames whose chain time exceeds the frame interval', () => {
    const time = { now: 0, cost: 50 };
    const chain = new Chain(() => time.now);
    chain.replace([{ transform: new AddLuma('slow', 0, false, time), enabled: true }]);
    const frame = new I420Frame(2, 2);
    for (let index = 0; index < 5; index++) chain.apply(frame, clockAt(index));
    expect(chain.stats().framesOverDeadline).toBe(5);
    // Not heavy, so degrading cannot help: the chain reports the overrun instead of pretending.
    expect(chain.stats().degraded).toBe(false);
  });

  it('closes every transform once on close and refuses new specs after', () => {
    const chain = new Chain();
    const transform = new AddLuma('a', 1);
    chain.replace([{ transform, enabled: true }]);
    chain.apply(new I420Frame(2, 2), clockAt(0));
    chain.close();
    chain.close();
    expect(transform.closed).toBe(true);
    expect(() => chain.replace([])).toThrow(/closed/);
  });
});
