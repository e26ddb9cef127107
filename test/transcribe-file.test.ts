import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseWords, wordErrorRate } from './helpers/asr-speech.js';
import { speechFolder } from './helpers/test-lifecycle.js';
import { CommandEngine } from '../transforms/subtitles/engines/command/command-engine.js';
import { PocketSphinxEngine } from '../transforms/subtitles/engines/pocketsphinx/pocketsphinx-engine.js';
import { transcribeFile, UnreadableMediaError } from '../transforms/subtitles/transcribe-file.js';
import { formatTranscript, type Transcript } from '../transforms/subtitles/transcript-formats.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';

const SENTENCES = ['The meeting starts at seven thirty tomorrow.', 'There were twenty three people in the room.', 'Please bring your notes and a pen.'];

function parseTimestamp(text: string): number {
  const [hours, minutes, rest] = text.replace(',', '.').split(':');
  return (Number(hours) * 3600 + Number(minutes) * 60 + Number(rest)) * 1000;
}

describe('transcribeFile', () => {
  const fixture = speechFolder('livefx-transcribe-', SENTENCES, { leadSilenceMs: 800, gapMs: 1200 });
  let video: string;
  let transcript: Transcript;
  const progress: number[] = [];

  beforeAll(async () => {
    // A video file with Opus audio at 48 kHz stereo: ffmpeg must decode, downmix and resample it.
    video = path.join(fixture.dir, 'talk.mkv');
    await runFfmpeg([
      '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=15:duration=${(fixture.speech.durationMs / 1000).toFixed(2)}`,
      '-i', fixture.speech.file, '-ac', '2', '-ar', '48000', '-c:a', 'libopus', '-b:a', '64k', '-c:v', 'libx264', '-preset', 'ultrafast', '-shortest', video,
    ]);
    transcript = await transcribeFile(video, { engine: new PocketSphinxEngine(), onProgress: (fraction) => progress.push(fraction) });
  });

  it('transcribes the speech in a video file, with progress from 0 to 1', () => {
    const reference = SENTENCES.flatMap(normaliseWords);
    const words = transcript.words.map((word) => word.word);
    // Measured: 13.6 % (3 of 22: "and a pen" → "in japan" after Opus at 64 kbit/s; 4.5 % from the WAV).
    expect(wordErrorRate(reference, words)).toBeLessThanOrEqual(0.2);
    expect(transcript.durationMs).toBeGreaterThan(fixture.speech.durationMs - 100);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress[progress.length - 1]).toBe(1);
    for (let index = 1; index < progress.length; index++) expect(progress[index]!).toBeGreaterThan(progress[index - 1]!);
    // 8 s of speech is too little to adapt to the speaker: the first pass is the transcript, and it says why.
    expect(transcript.adaptation).toEqual({ applied: false, reason: expect.stringMatching(/^too little speech to adapt to \(\d+\.\d s recognised; it needs 20 s\)$/) });
    expect(transcript.engine.version).toBe('5prealpha');
  });

  it('writes WebVTT and SRT whose cues cover the spoken sentences, with numbers as digits', () => {
    const vtt = formatTranscript(transcript, 'vtt');
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = [...vtt.matchAll(/(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n((?:.+\n?)+)/g)].map((match) => ({
      startMs: parseTimestamp(match[1]!),
      endMs: parseTimestamp(match[2]!),
      text: match[3]!.trim(),
    }));
    expect(cues.length).toBeGreaterThanOrEqual(SENTENCES.length);
    for (const cue of cues) {
      expect(cue.endMs).toBeGreaterThan(cue.startMs);
      // Each cue begins inside a spoken sentence.
      expect(fixture.speech.sentences.some((sentence) => cue.startMs >= sentence.startMs - 150 && cue.startMs <= sentence.endMs)).toBe(true);
      for (const line of cue.text.split('\n')) expect(line.length).toBeLessThanOrEqual(42);
    }
    const text = cues.map((cue) => cue.text).join(' ');
    expect(text).toContain('7:30');
    expect(text).toContain('23 people');
    const srt = formatTranscript(transcript, 'srt');
    expect(srt).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/);
    expect(srt.split('\n\n').filter((block) => block.trim() !== '')).toHaveLength(cues.length);
  });

  it('writes JSON words with times inside the sentences, and plain text one utterance a line', () => {
    const json = JSON.parse(formatTranscript(transcript, 'json')) as { engine: { name: string }; adaptation: { applied: boolean }; words: { word: string; startMs: number; endMs: number; conf?: number }[] };
    expect(json.engine.name).toBe('pocketsphinx');
    expect(json.adaptation.applied).toBe(false);
    expect(json.words.length).toBeGreaterThan(15);
    for (const word of json.words) {
      expect(fixture.speech.sentences.some((sentence) => word.startMs >= sentence.startMs - 150 && word.endMs <= sentence.endMs + 150)).toBe(true);
    }
    const lines = formatTranscript(transcript, 'txt').trim().split('\n');
    expect(lines).toHaveLength(SENTENCES.length);
    expect(lines[1]).toContain('23 people');
  });

  it('runs any engine: the same function through the command contract', async () => {
    const script = [[{ word: 'scripted', start: 1.0, end: 1.5 }, { word: 'words', start: 1.6, end: 2.0 }]];
    const engine = new CommandEngine({
      command: process.execPath,
      args: [fileURLToPath(new URL('./fixtures/fake-asr-engine.mjs', import.meta.url))],
      env: { FAKE_ASR_SCRIPT: JSON.stringify(script) },
    });
    const result = await transcribeFile(fixture.speech.file, { engine });
    expect(result.words).toEqual([
      { word: 'scripted', startMs: 1000, endMs: 1500 },
      { word: 'words', startMs: 1600, endMs: 2000 },
    ]);
    expect(formatTranscript(result, 'vtt')).toContain('00:00:01.000 --> ');
  });

  it('names the file and ffmpeg\'s reason when it cannot be read', async () => {
    const missing = path.join(fixture.dir, 'no-such-file.mp4');
    const error = await transcribeFile(missing, { engine: new PocketSphinxEngine() }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnreadableMediaError);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toMatch(/No such file or directory/);
    const garbage = path.join(fixture.dir, 'garbage.mp3');
    await writeFile(garbage, Buffer.from('this is not an mp3 file at all, just text'.repeat(50)));
    const garbled = await transcribeFile(garbage, { engine: new PocketSphinxEngine() }).catch((caught: unknown) => caught);
    expect(garbled).toBeInstanceOf(UnreadableMediaError);
    // ffmpeg 5.1 says "Failed to read frame size: Could not seek to 3073.; Invalid argument": its reason, without its tags.
    expect((garbled as Error).message.startsWith(`cannot read ${garbage}: `)).toBe(true);
    expect((garbled as Error).message).toMatch(/invalid/i);
    expect((garbled as Error).message).not.toContain(' @ 0x');
  });

  it('says which program could not start when ffprobe or ffmpeg is missing (not a file the user must fix)', async () => {
    const missingProbe = await transcribeFile(fixture.speech.file, { engine: new PocketSphinxEngine(), ffprobe: '/nonexistent/ffprobe' }).catch((caught: unknown) => caught);
    expect(missingProbe).not.toBeInstanceOf(UnreadableMediaError);
    expect((missingProbe as Error).message).toMatch(/^cannot run \/nonexistent\/ffprobe: /);
    const missingDecoder = await transcribeFile(fixture.speech.file, { engine: new PocketSphinxEngine(), ffmpeg: '/nonexistent/ffmpeg' }).catch((caught: unknown) => caught);
    expect(missingDecoder).not.toBeInstanceOf(UnreadableMediaError);
    expect((missingDecoder as Error).message).toMatch(/cannot run ffmpeg: could not start ffmpeg for the decoder \(\/nonexistent\/ffmpeg\)/);
  });

  it('refuses a file without an audio stream', async () => {
    const silentVideo = path.join(fixture.dir, 'no-audio.mp4');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', silentVideo]);
    await expect(transcribeFile(silentVideo, { engine: new PocketSphinxEngine() })).rejects.toThrow(/no-audio\.mp4: it has no audio stream/);
  });
});
