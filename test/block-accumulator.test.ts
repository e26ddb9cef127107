import { describe, expect, it } from 'vitest';
import { BlockAccumulator } from '../core/media/block-accumulator.js';

describe('BlockAccumulator', () => {
  it('hands on fixed blocks of pieces of any size, in order, in one reused buffer', () => {
    const blocks: number[][] = [];
    const seen = new Set<Int16Array>();
    const accumulator = new BlockAccumulator(new Int16Array(4), (block) => {
      seen.add(block);
      blocks.push([...block]);
    });
    const samples = Int16Array.from({ length: 11 }, (_, index) => index);
    accumulator.write(samples.subarray(0, 3));
    accumulator.write(samples.subarray(3, 10));
    expect(blocks).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(accumulator.filled).toBe(2);
    accumulator.reset();
    accumulator.write(samples.subarray(10, 11));
    expect(accumulator.filled).toBe(1);
    expect(seen.size).toBe(1);
  });

  it('starts a new block after a handler that throws, instead of finding no room', () => {
    let calls = 0;
    const accumulator = new BlockAccumulator(new Uint8Array(2), () => {
      calls++;
      if (calls === 1) throw new Error('handler failed');
    });
    expect(() => accumulator.write(Uint8Array.of(1, 2))).toThrow(/handler failed/);
    expect(accumulator.filled).toBe(0);
    accumulator.write(Uint8Array.of(3, 4, 5));
    expect(calls).toBe(2);
    expect(accumulator.filled).toBe(1);
  });
});
