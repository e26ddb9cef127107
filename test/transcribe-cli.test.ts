import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpeech, normaliseWords, wordErrorRate } from './helpers/asr-speech.js';
import { runBuiltCli, type CliRun } from './helpers/cli-run.js';

const SENTENCES = ['The meeting starts at seven thirty tomorrow.', 'Please bring your notes and a pen.'];
const fakeEngine = fileURLToPath(new URL('./fixtures/fake-asr-engine.mjs', import.meta.url));
let dir: string;
let speech: string;

/** Runs the built CLI as a user would; a run that hangs is killed after 40 s. */
function livefx(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runBuiltCli(args, { cwd: dir, env: { LIVEFX_DATA_DIR: path.join(dir, 'data'), ...env } });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-transcribe-cli-'));
  speech = (await makeSpeech(dir, 'speech', SENTENCES, { leadSilenceMs: 600, gapMs: 1200 })).file;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('livefx transcribe', () => {
  it('prints WebVTT by default on stdout, with progress on stderr', async () => {
    const run = await livefx(['transcribe', speech]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.startsWith('WEBVTT\n\n')).toBe(true);
    expect(run.stdout).toMatch(/\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n/);
    expect(run.stdout).toContain('7:30');
    // Not a terminal: plain progress lines, and the summary at the end.
    expect(run.stderr).toMatch(/transcribe +\d+%/);
    expect(run.stderr).toMatch(/transcribe +100% +\d+ words in/);
    // Two sentences are too little speech for the second, adapted pass: the user is told.
    expect(run.stderr).toMatch(/livefx transcribe: not adapted to the speaker: too little speech to adapt to \(\d+\.\d s recognised; it needs 20 s\); the transcript is the first pass\n/);
    const onePass = await livefx(['transcribe', speech, '--one-pass']);
    expect(onePass.code, onePass.stderr).toBe(0);
    expect(onePass.stdout).toBe(run.stdout);
    expect(onePass.stderr).not.toContain('not adapted');
  });

  it('writes JSON, SRT and text to -o, and --quiet prints no progress', async () => {
    const json = path.join(dir, 'out.json');
    const run = await livefx(['transcribe', speech, '--format', 'json', '-o', json, '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
    const parsed = JSON.parse(await readFile(json, 'utf8')) as { words: { word: string; startMs: number; endMs: number }[] };
    const words = parsed.words.map((word) => word.word);
    expect(wordErrorRate(SENTENCES.flatMap(normaliseWords), words)).toBeLessThanOrEqual(0.25);
    for (const word of parsed.words) expect(word.endMs).toBeGreaterThan(word.startMs);

    const srt = await livefx(['transcribe', speech, '-f', 'srt', '-q']);
    expect(srt.code, srt.stderr).toBe(0);
    expect(srt.stdout).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/);
    const txt = await livefx(['transcribe', speech, '-f', 'txt', '-q']);
    expect(txt.code, txt.stderr).toBe(0);
    expect(txt.stdout.trim().split('\n')).toHaveLength(SENTENCES.length);
  });

  it('uses LIVEFX_ASR_COMMAND when set (the command contract)', async () => {
    const script = JSON.stringify([[{ word: 'scripted', start: 0.8, end: 1.2 }, { word: 'words', start: 1.3, end: 1.7 }]]);
    const run = await livefx(['transcribe', speech, '-f', 'txt', '-q'], { LIVEFX_ASR_COMMAND: `${process.execPath} ${fakeEngine}`, FAKE_ASR_SCRIPT: script });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('scripted words\n');
  });

  it('falls back to PocketSphinx when LIVEFX_ASR_COMMAND cannot start, and says so on stderr; LIVEFX_ASR_FALLBACK=none fails instead', async () => {
    const run = await livefx(['transcribe', speech, '-f', 'json', '-q'], { LIVEFX_ASR_COMMAND: '/nonexistent/asr-bridge --model small' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^livefx transcribe: command:asr-bridge failed \(.*\/nonexistent\/asr-bridge.*\); transcribing with pocketsphinx\n$/);
    const parsed = JSON.parse(run.stdout) as { engine: { name: string }; words: { word: string }[] };
    expect(parsed.engine.name).toBe('pocketsphinx');
    const words = parsed.words.map((word) => word.word);
    expect(wordErrorRate(SENTENCES.flatMap(normaliseWords), words)).toBeLessThanOrEqual(0.25);

    const strict = await livefx(['transcribe', speech, '-f', 'txt', '-q'], { LIVEFX_ASR_COMMAND: '/nonexistent/asr-bridge', LIVEFX_ASR_FALLBACK: 'none' });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('/nonexistent/asr-bridge');
    expect(strict.stdout).toBe('');
  });

  it('fails clearly: a missing or unreadable file exits 1, a wrong command line exits 2', async () => {
    const missing = await livefx(['transcribe', path.join(dir, 'nothing.wav')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^livefx transcribe: .*nothing\.wav not found\n$/);

    const garbage = path.join(dir, 'garbage.mp3');
    await writeFile(garbage, 'this is not audio at all '.repeat(200));
    const unreadable = await livefx(['transcribe', garbage]);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain(`livefx transcribe: cannot read ${garbage}`);
    expect(unreadable.stdout).toBe('');

    const badFormat = await livefx(['transcribe', speech, '--format', 'docx']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--format must be one of vtt, srt, json, txt, got "docx"');
    expect(badFormat.stderr).toContain('usage: livefx transcribe');

    const noFile = await livefx(['transcribe']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('missing <audio-or-video>');

    const unwritable = await livefx(['transcribe', speech, '-q', '-o', path.join(dir, 'no-such-folder', 'out.vtt')]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot write .*out\.vtt/);
  });
});
