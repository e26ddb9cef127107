import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HlsCaptionWriter, LOW_LATENCY_HLS_CAPTIONS } from '../server/pipeline/hls-caption-writer.js';
import { scratchFolder } from './helpers/test-lifecycle.js';

const scratch = scratchFolder('livefx-hls-captions-', 'test');

describe('HLS captions rendition', () => {
  it('writes WebVTT segments on the video timeline, a sliding captions playlist and a master playlist', async () => {
    const writer = new HlsCaptionWriter({ dir: scratch.path, segmentS: 1, listSize: 3, bandwidth: 2_628_000 });
    const origin = Date.now() + 60_000;
    writer.setOrigin(origin);
    writer.cue({ id: 0, lines: ['The meeting starts', 'at 7:30'], startMs: origin + 1200, endMs: origin + 2500, partial: false, final: true });
    writer.cue({ id: 1, lines: ['withdrawn'], startMs: origin + 1300, endMs: origin + 1900, partial: true, final: false });
    writer.cue({ id: 1, lines: [], startMs: 0, endMs: 0, partial: false, final: false });
    // Segment 1 (1–2 s) is written 2.5 s after it ended.
    writer.tick(origin + 4500);
    expect((await readdir(scratch.path)).sort()).toEqual(['captions.m3u8', expect.stringMatching(/^captions-\d+\.vtt$/), expect.stringMatching(/^captions-\d+\.vtt$/), 'master.m3u8'].sort());
    const playlist = await readFile(path.join(scratch.path, 'captions.m3u8'), 'utf8');
    const names = [...playlist.matchAll(/^(captions-(\d+)\.vtt)$/gm)];
    expect(names).toHaveLength(2);
    expect(Number(names[1]![2])).toBe(Number(names[0]![2]) + 1);
    expect(playlist).toMatch(/#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:\d+\n#EXTINF:1\.000,\ncaptions-/);
    const first = await readFile(path.join(scratch.path, names[0]![1]!), 'utf8');
    const second = await readFile(path.join(scratch.path, names[1]![1]!), 'utf8');
    expect(first).toBe('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n');
    expect(second).toBe('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n\n00:00:01.200 --> 00:00:02.500\nThe meeting starts\nat 7:30\n');
    const master = await readFile(path.join(scratch.path, 'master.m3u8'), 'utf8');
    expect(master).toBe(
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Live captions",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="captions.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=2628000,SUBTITLES="captions"\nindex.m3u8\n',
    );

    // The window slides: old segments leave the playlist and, a little later, the disk.
    writer.tick(origin + 12_400);
    const later = await readFile(path.join(scratch.path, 'captions.m3u8'), 'utf8');
    expect([...later.matchAll(/^captions-\d+\.vtt$/gm)]).toHaveLength(3);
    expect((await readdir(scratch.path)).filter((name) => name.endsWith('.vtt'))).toHaveLength(5);

    // Captions switched off: the rendition is withdrawn, so players fall back to index.m3u8.
    writer.close(true);
    writer.close(true);
    expect(await readdir(scratch.path)).toEqual([]);
  });

  it('writes the LL-HLS flavour beside it: ll-master.m3u8 offers ll.m3u8 with ll-captions.m3u8, on the fMP4 clock, 0.5 s after each interval, the next two named ahead', async () => {
    const writer = new HlsCaptionWriter({ dir: scratch.path, segmentS: 1, listSize: 3, bandwidth: 2_628_000, flavour: LOW_LATENCY_HLS_CAPTIONS });
    const origin = Date.now() + 60_000;
    writer.setOrigin(origin);
    writer.cue({ id: 0, lines: ['Please open the window'], startMs: origin + 1200, endMs: origin + 1900, partial: true, final: false });
    // Segment 1 (1–2 s) is due 0.5 s after it ended, not before.
    writer.tick(origin + 2400);
    expect((await readdir(scratch.path)).filter((name) => name.endsWith('.vtt'))).toHaveLength(1);
    writer.tick(origin + 2500);
    expect((await readdir(scratch.path)).sort()).toEqual(['ll-captions.m3u8', expect.stringMatching(/^ll-captions-\d+\.vtt$/), expect.stringMatching(/^ll-captions-\d+\.vtt$/), 'll-master.m3u8'].sort());
    const playlist = await readFile(path.join(scratch.path, 'll-captions.m3u8'), 'utf8');
    const names = [...playlist.matchAll(/^(ll-captions-\d+\.vtt)$/gm)].map((match) => match[1]!);
    // The two written segments, then the next two named before they exist (2–3 s and 3–4 s), consecutive numbers.
    expect(names).toHaveLength(4);
    const numbers = names.map((name) => Number(/\d+/.exec(name)![0]));
    expect(numbers).toEqual([numbers[0]!, numbers[0]! + 1, numbers[0]! + 2, numbers[0]! + 3]);
    expect(playlist).toContain(`#EXT-X-MEDIA-SEQUENCE:${numbers[0]}\n`);
    expect((await readdir(scratch.path)).filter((name) => name.endsWith('.vtt')).sort()).toEqual(names.slice(0, 2).sort());
    // Dated like ll.m3u8's segments, which is how a player lines the two up.
    expect(playlist).toContain(`#EXT-X-PROGRAM-DATE-TIME:${new Date(origin + 1000).toISOString()}\n#EXTINF:1.000,\n${names[1]}\n`);
    expect(playlist).toContain(`#EXT-X-PROGRAM-DATE-TIME:${new Date(origin + 3000).toISOString()}\n#EXTINF:1.000,\n${names[3]}\n`);
    expect(await readFile(path.join(scratch.path, names[1]!), 'utf8')).toBe('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:01.200 --> 00:00:01.900\nPlease open the window\n');
    expect(await readFile(path.join(scratch.path, 'll-master.m3u8'), 'utf8')).toBe(
      '#EXTM3U\n#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Live captions",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="ll-captions.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=2628000,SUBTITLES="captions"\nll.m3u8\n',
    );
    // A cue the recogniser delivers after its segment was written (a loaded machine) goes into the next segment: its words are not lost.
    writer.cue({ id: 1, lines: ['in the kitchen'], startMs: origin + 1300, endMs: origin + 1800, partial: false, final: false });
    writer.tick(origin + 3500);
    // The segment written is the one named ahead before: the name a player asked for is the one that comes.
    const next = [...(await readFile(path.join(scratch.path, 'll-captions.m3u8'), 'utf8')).matchAll(/^(ll-captions-\d+\.vtt)$/gm)].map((match) => match[1]!);
    expect(next.slice(0, 3)).toEqual(names.slice(0, 3));
    expect(await readFile(path.join(scratch.path, names[2]!), 'utf8')).toBe('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:01.300 --> 00:00:01.800\nin the kitchen\n');
    writer.close(true);
    expect(await readdir(scratch.path)).toEqual([]);
  });
});
