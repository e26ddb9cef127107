// The end of a recording: the speech engine commits the utterance in progress while the stream's
// pipeline closes. Those words belong to the transcript, and a reader who sees the recording
// `complete` must already see them (a CI run saw `complete` with 20 words, then 23).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LivefxDatabase } from '../core/database.js';
import type { LiveWord, StreamState } from '../core/live-media.js';
import type { LiveMediaTap } from '../core/live-tap.js';
import { createLogger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { RecordableStream, RecordableStreamEvents } from '../recorder/live-source.js';
import { SessionRecorder } from '../recorder/session-recorder.js';
import { SqliteRecordingCatalog } from '../recorder/sqlite-recording-catalog.js';
import { MIGRATIONS } from '../server/storage/migrations.js';

/**
 * A stand-in for the live stream port (no media flows: the test is about the end of the event log),
 * whose pipeline closes when the test says so.
 */
class ScriptedStream extends TypedEmitter<RecordableStreamEvents> implements RecordableStream {
  readonly id = 'stream-late-words';
  readonly title = 'late words';
  readonly record = true;
  readonly publisherHasAudio = false;
  endReason: string | undefined;
  whenClosed: Promise<void> = Promise.resolve();
  private closePipeline: () => void = () => undefined;

  stats(): { viewers: { webrtc: number; hls: number } } {
    return { viewers: { webrtc: 0, hls: 0 } };
  }
  requestPublisherKeyframe(): void {}
  requestProcessedKeyframe(): void {}
  addMediaTap(_tap: LiveMediaTap): () => void {
    return () => undefined;
  }
  say(words: LiveWord[]): void {
    this.safeEmit('transcript-words', words);
  }
  /** Ends the stream; its pipeline stays open until `pipelineClosed()`. */
  end(reason: string): void {
    this.endReason = reason;
    this.whenClosed = new Promise<void>((resolve) => (this.closePipeline = resolve));
    this.safeEmit('state', 'ended' satisfies StreamState);
  }
  pipelineClosed(): void {
    this.closePipeline();
  }
}

let dataDir: string;
let database: LivefxDatabase;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'livefx-late-words-'));
  database = LivefxDatabase.open(dataDir, MIGRATIONS);
});

afterEach(async () => {
  database.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a recording that ends while the speech engine is still committing words', () => {
  it('stays `recording` until the late words are in, then is `complete` with every word counted', async () => {
    const catalog = new SqliteRecordingCatalog({ db: database.db });
    const stream = new ScriptedStream();
    let finished: Promise<void> | undefined;
    const recorder = new SessionRecorder({
      stream,
      catalog,
      recordingsDir: path.join(dataDir, 'recordings'),
      segmentS: 2,
      log: createLogger('silent'),
      onClosed: (_recorder, done) => (finished = done),
    });
    const word = (text: string, atMs: number): LiveWord => ({ word: text, startMs: atMs, endMs: atMs + 300 });
    const t0 = recorder.originMs;
    stream.say([word('hello', t0 + 100), word('there', t0 + 500)]);
    stream.end('publisher left');
    expect(finished).toBeDefined();

    // The pipeline is still flushing: the last utterance arrives after the stream ended.
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.say([word('good', t0 + 900), word('night', t0 + 1300), word('everyone', t0 + 1700)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await catalog.get(recorder.id))?.state).toBe('recording');

    stream.pipelineClosed();
    await finished;
    const row = await catalog.get(recorder.id);
    expect(row?.state).toBe('complete');
    expect((await catalog.eventCounts(recorder.id)).get('transcript-word')).toBe(5);
    // Words after the log closed are not taken (and do not throw).
    stream.say([word('late', t0 + 2000)]);
    expect((await catalog.eventCounts(recorder.id)).get('transcript-word')).toBe(5);
  });
});
