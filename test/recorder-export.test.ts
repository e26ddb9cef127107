import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LivefxDatabase } from '../core/database.js';
import { ProcessRunner } from '../core/process/process-runner.js';
import { RecordingExporter } from '../recorder/recording-exporter.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { MIGRATIONS } from '../server/storage/migrations.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';

/** The session these segments belong to: 30.34 s, as in the browser session whose transformed export lasted 34.08 s. */
const SESSION_S = 30.34;
/**
 * Transformed segments as the recorder writes them on a loaded machine: the first processed keyframe
 * 2.6 s into the session, video on the capture clock, audio by arrival 0.8 s behind it (so each file's
 * audio runs past the next file's start), and a last segment of one frame before the stop.
 */
const STARTS_S = [2.6, 6.61, 10.62, 14.6, 18.64, 22.63, 26.6, 29.45];
const AUDIO_LAG_S = 0.8;

let dataDir: string;
let database: LivefxDatabase;
let catalog: SqliteRecordingCatalog;
let exporter: RecordingExporter;

function probe(file: string): { durationS: number; streams: string[]; chapters: number } {
  const result = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-show_chapters', '-of', 'json', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  const parsed = JSON.parse(result.stdout) as { format: { duration: string }; streams: { codec_type: string; codec_name: string }[]; chapters: unknown[] };
  return { durationS: Number(parsed.format.duration), streams: parsed.streams.map((entry) => `${entry.codec_type}:${entry.codec_name}`).sort(), chapters: parsed.chapters.length };
}

/** One Matroska segment with timestamps on the session clock, like the recorder's. */
async function writeSegment(recordingId: string, index: number): Promise<void> {
  const startS = STARTS_S[index]!;
  const videoEndS = STARTS_S[index + 1] ?? startS + 1 / 30;
  const audioEndS = STARTS_S[index + 1] !== undefined ? STARTS_S[index + 1]! + AUDIO_LAG_S : SESSION_S;
  const file = path.join(dataDir, 'recordings', recordingId, 'transformed', `${String(index).padStart(6, '0')}.mkv`);
  await runFfmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=30:duration=${(videoEndS - startS).toFixed(3)}`,
    '-f', 'lavfi', '-itsoffset', String(AUDIO_LAG_S), '-i', `sine=frequency=440:sample_rate=48000:duration=${(audioEndS - startS - AUDIO_LAG_S).toFixed(3)}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '600', '-c:a', 'libopus', '-output_ts_offset', startS.toFixed(3), file,
  ]);
  const bytes = (await stat(file)).size;
  await catalog.addSegment({ recordingId, kind: 'transformed', index, file: path.relative(path.join(dataDir, 'recordings', recordingId), file), startS, durationS: Math.round((videoEndS - startS) * 1000) / 1000, bytes });
}

async function addRecording(recordingId: string): Promise<void> {
  await catalog.create({ id: recordingId, streamId: 'stream-1', title: recordingId, state: 'complete', startedAt: new Date(Date.now() - 60_000).toISOString(), endedAt: new Date().toISOString(), durationS: SESSION_S });
  await mkdir(path.join(dataDir, 'recordings', recordingId, 'transformed'), { recursive: true });
  await Promise.all(STARTS_S.map((_start, index) => writeSegment(recordingId, index)));
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-export-'));
  database = LivefxDatabase.open(dataDir, MIGRATIONS);
  catalog = new SqliteRecordingCatalog({ db: database.db });
  exporter = new RecordingExporter({ catalog, recordingsDir: path.join(dataDir, 'recordings'), runner: new ProcessRunner({ label: 'recorder' }) });
  await addRecording('late-start');
  await addRecording('with-chapters');
}, 120_000);

afterAll(async () => {
  database?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('recording export: the joined file is on the session clock and carries only audio and video', () => {
  it('a transformed recording whose first keyframe came late and whose last segment is one frame lasts the session (±0.5 s)', async () => {
    const exported = await exporter.media('late-start', 'transformed');
    const probed = probe(exported.file);
    console.log(`export late-start: ${JSON.stringify(probed)} (session ${SESSION_S} s)`);
    expect(Math.abs(probed.durationS - SESSION_S), `${probed.durationS} s of a ${SESSION_S} s session`).toBeLessThan(0.5);
    expect(probed.streams).toEqual(['audio:opus', 'video:h264']);
  });

  it('chapters are written as chapters, not as a third (data) stream', async () => {
    const chapterText = [';FFMETADATA1', ...[0, 10, 20].flatMap((startS, index) => ['[CHAPTER]', 'TIMEBASE=1/1000', `START=${startS * 1000}`, `END=${(startS + 10) * 1000}`, `title=part ${index + 1}`]), ''].join('\n');
    exporter.chapterSource = async () => chapterText;
    try {
      const exported = await exporter.media('with-chapters', 'transformed');
      const probed = probe(exported.file);
      console.log(`export with-chapters: ${JSON.stringify(probed)}`);
      expect(probed.streams).toEqual(['audio:opus', 'video:h264']);
      expect(probed.chapters).toBe(3);
      expect(Math.abs(probed.durationS - SESSION_S)).toBeLessThan(0.5);
      // Every packet still decodes: hiding the chapter track moved nothing.
      const decoded = spawnSync('ffmpeg', ['-v', 'error', '-i', exported.file, '-f', 'null', '-'], { encoding: 'utf8' });
      expect(decoded.status).toBe(0);
      expect(decoded.stderr).not.toMatch(/invalid data|corrupt|error while decoding|moov atom/i);
    } finally {
      exporter.chapterSource = undefined;
    }
  });
});
