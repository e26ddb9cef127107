import { describe, expect, it } from 'vitest';
import { ViewerStart } from '../server/streams/viewer-start.js';

/** One access unit's packets, named so the order a viewer gets them in reads back. */
const unit = (name: string, packets: number): Buffer[] => Array.from({ length: packets }, (_, index) => Buffer.from(`${name}.${index}`));

function feed(start: ViewerStart, name: string, keyframe: boolean, packets = 2): void {
  start.unitBegins(keyframe);
  for (const packet of unit(name, packets)) start.packet(packet);
}

describe('a new viewer starts at a keyframe', () => {
  it('gets nothing of the frames before its first keyframe, and the keyframe held while it connects the moment it can', () => {
    const sent: string[] = [];
    const start = new ViewerStart((packet) => sent.push(packet.toString()));
    feed(start, 'P1', false);
    feed(start, 'I2', true);
    feed(start, 'P3', false);
    expect(sent).toEqual([]);
    expect(start.connect()).toBe(true);
    expect(sent).toEqual(['I2.0', 'I2.1', 'P3.0', 'P3.1']);
    expect(start.live).toBe(true);
    feed(start, 'P4', false);
    expect(sent.slice(-2)).toEqual(['P4.0', 'P4.1']);
  });

  it('holds only from the latest keyframe: a newer one replaces what was held', () => {
    const sent: string[] = [];
    const start = new ViewerStart((packet) => sent.push(packet.toString()));
    feed(start, 'I1', true);
    feed(start, 'P2', false);
    feed(start, 'I3', true);
    start.connect();
    expect(sent).toEqual(['I3.0', 'I3.1']);
  });

  it('connected before any keyframe: says so (the stream asks again) and starts at the next one', () => {
    const sent: string[] = [];
    const start = new ViewerStart((packet) => sent.push(packet.toString()));
    feed(start, 'P1', false);
    expect(start.connect()).toBe(false);
    feed(start, 'P2', false);
    expect(sent).toEqual([]);
    expect(start.live).toBe(false);
    feed(start, 'I3', true);
    expect(sent).toEqual(['I3.0', 'I3.1']);
    expect(start.live).toBe(true);
  });

  it('drops a hold that grows past its bound and waits for the next keyframe, instead of keeping everything a viewer that never connects was sent', () => {
    const sent: string[] = [];
    const start = new ViewerStart((packet) => sent.push(packet.toString()));
    feed(start, 'I1', true, 700);
    expect(start.connect()).toBe(false);
    feed(start, 'I2', true, 1);
    expect(sent).toEqual(['I2.0']);
  });
});
