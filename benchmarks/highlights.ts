// Highlights of a 1-hour 720p recording with events and a transcript, in one run (bounded to about 10 minutes):
// 1. preview highlights of the freshly imported file (no cached analysis), then again with the analysis cached;
// 2. final highlights (x264 re-encode, burned captions, crossfaded reel), capped, with a projection when capped;
// 3. preview highlights of the same recording with stored live signals (as a live recording has): the
//    signals are computed with the pipeline's own code (SceneChangeMeter, levelDbfs) over the decoded frames
//    and audio of the first cycle of the show and repeated over the hour, which is that cycle repeated;
// 4. the baseline: plain ffmpeg `scdet` + `silencedetect` over the whole file, capped the same way.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import { singleSeriesGroups, writeResult } from './bar-chart.js';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { mediaSignalEvents } from '../test/helpers/media-signal-events.js';
import type { ShowEvent } from '../test/helpers/highlight-fixture.js';

const HOUR_S = Number(process.env.HIGHLIGHTS_BENCH_S ?? 3600);
const FINAL_LIMIT_S = Number(process.env.HIGHLIGHTS_FINAL_LIMIT_S ?? 300);
const BASELINE_LIMIT_S = Number(process.env.HIGHLIGHTS_BASELINE_LIMIT_S ?? 150);
/** The whole run stays within this: the final job and the baseline get what is left (capped runs are projected). */
const TOTAL_LIMIT_S = Number(process.env.HIGHLIGHTS_TOTAL_LIMIT_S ?? 590);
const PREVIEW_TARGET_S = 60;
const FINAL_TARGET_S = 300;
const FPS = 30;
/** A typical streaming bitrate, so decoding the hour costs what a real recording's does (CABAC, B-frames: veryfast, not ultrafast). */
const VIDEO_KBPS = 3000;
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The distinct 720p scenes one cycle of the show repeats (with moving grain, so they cost a camera's bitrate); `silent` ones are black with no sound (dead air). */
const SCENES = [
  { source: 'testsrc2', seconds: 40, silent: false, tone: 300 },
  { source: 'smptehdbars', seconds: 35, silent: false, tone: 440 },
  { source: 'color=c=black', seconds: 8, silent: true, tone: 0 },
  { source: 'rgbtestsrc', seconds: 45, silent: false, tone: 520 },
  { source: 'testsrc', seconds: 52, silent: false, tone: 360 },
];
const CYCLE_S = SCENES.reduce((sum, scene) => sum + scene.seconds, 0);

/** Engagement peaks planted over the hour, with how many different people chat at each (more = stronger). */
const PEAK_PEOPLE = [9, 21, 12, 18, 10, 24, 11, 15, 8, 20, 13, 16];
const PEAKS = PEAK_PEOPLE.map((_, index) => Math.round(((index + 0.5) * HOUR_S) / PEAK_PEOPLE.length) + 3);
const TEXT =
  'Welcome back to the stream everyone. Today we try the hardest level again. Watch the left side, that is where it gets tricky. ' +
  'Thanks for the follow, much appreciated. That jump was close, really close. Let us look at the map for a second. ' +
  'Nobody expected that move. Chat is going wild right now. Okay, time for a short break soon. Here comes the boss fight.';

function run(command: string, args: string[], limitS = Infinity): Promise<{ stderr: string; capped: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let capped = false;
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      if (stderr.length > 1 << 22) stderr = stderr.slice(-(1 << 20));
    });
    const timer = Number.isFinite(limitS) ? setTimeout(() => ((capped = true), child.kill('SIGKILL')), limitS * 1000) : undefined;
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 || capped) resolve({ stderr, capped });
      else reject(new Error(`${command} ${args.slice(0, 6).join(' ')}… exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** One cycle's scenes encoded once, then concat-copied into the hour: the show costs about a cycle's encode. */
async function makeHour(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const [index, scene] of SCENES.entries()) {
    const file = path.join(dir, `scene-${index}.mp4`);
    const audio = scene.silent ? `anullsrc=r=48000:cl=stereo` : `sine=f=${scene.tone}:sample_rate=48000,volume=0.3`;
    // prettier-ignore
    await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${scene.source}${scene.source.includes('=') ? ':' : '='}s=1280x720:r=${FPS}${scene.silent ? '' : ',noise=alls=10:allf=t'}`, '-f', 'lavfi', '-i', audio,
      '-t', String(scene.seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', `${VIDEO_KBPS}k`, '-maxrate', `${VIDEO_KBPS}k`, '-bufsize', `${2 * VIDEO_KBPS}k`, '-g', String(2 * FPS), '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '64k', '-ac', '2', file]);
    parts.push(file);
  }
  const list = path.join(dir, 'list.txt');
  const cycles = Math.ceil(HOUR_S / CYCLE_S);
  await writeFile(list, Array.from({ length: cycles }, () => parts.map((part) => `file '${part}'`).join('\n')).join('\n'));
  const hour = path.join(dir, 'hour.mp4');
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', String(HOUR_S), '-c', 'copy', '-movflags', '+faststart', hour]);
  return hour;
}

/** Chatter from ten regulars all hour, the planted peaks, three spam floods, viewer counts, and the transcript spoken over the hour. */
function hourEvents(): { events: ShowEvent[] } {
  const events: ShowEvent[] = [];
  const exact = (value: number): number => Math.round(value * 1000) / 1000;
  for (let t = 1; t < HOUR_S; t += 4.3) events.push({ t: exact(t), type: 'chat', user: `regular-${Math.floor(t) % 10}`, text: 'lol' });
  for (const [index, peak] of PEAKS.entries()) {
    const people = PEAK_PEOPLE[index]!;
    for (let person = 0; person < people; person++) {
      const t = exact(peak - 1.5 + (person * 3) / people);
      events.push({ t, type: 'chat', user: `fan-${index}-${person}`, text: 'WOW' });
    }
    for (let reaction = 0; reaction < people * 2; reaction++) events.push({ t: exact(peak - 1 + (reaction * 3) / (people * 2)), type: 'reaction', user: `fan-${index}-${reaction % people}`, kind: 'fire' });
  }
  for (const flood of [0.2, 0.55, 0.85]) {
    for (let message = 0; message < 80; message++) events.push({ t: exact(flood * HOUR_S - 2 + message * 0.05), type: 'chat', user: 'spammer', text: 'BUY FOLLOWERS' });
  }
  for (let t = 0; t < HOUR_S; t += 60) events.push({ t, type: 'viewers', count: 100 + Math.round(20 * Math.sin(t / 600)) });
  const words = TEXT.split(' ');
  let index = 0;
  // Speech in bursts: 20 s talking, 10 s quiet, so sentences and pauses spread over the hour.
  for (let t = 0.5; t < HOUR_S - 1; ) {
    const word = words[index++ % words.length]!;
    events.push({ t: exact(t), type: 'transcript-word', word, end: exact(t + 0.3), conf: 0.9 });
    t += 0.4;
    if (t % 30 > 20) t += 10;
  }
  events.sort((a, b) => a.t - b.t);
  return { events };
}

interface JobTiming {
  seconds: number;
  status: string;
  progress: number;
  stage: string;
  capped: boolean;
  clips: { rank: number; start: number; end: number; reasons: string[] }[];
  reelS: number | null;
  /** The job's analysis step: where cuts/silence came from and how long it took (0 when cached). */
  analysis: { source: string; elapsedMs: number } | null;
}

async function timeJob(server: LivefxServer, url: string, request: Record<string, unknown>, limitS = Infinity): Promise<JobTiming> {
  const started = performance.now();
  const posted = await fetch(`${url}/v1/video/highlights`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  const { id } = (await posted.json()) as { id: string };
  if (posted.status !== 202) throw new Error(`POST /v1/video/highlights answered ${posted.status}`);
  for (;;) {
    const view = (await (await fetch(`${url}/v1/video/highlights/${id}`)).json()) as {
      status: string;
      progress: number;
      stage: string;
      error: string | null;
      result: { clips: JobTiming['clips']; reel: { duration: number } | null } | null;
    };
    const seconds = (performance.now() - started) / 1000;
    const finished = view.status === 'done' || view.status === 'failed' || view.status === 'cancelled';
    if (finished || seconds > limitS) {
      if (view.status === 'failed') throw new Error(`highlights job failed: ${view.error}`);
      if (!finished) await fetch(`${url}/v1/video/highlights/${id}`, { method: 'DELETE' });
      const clips = (view.result?.clips ?? []).map(({ rank, start, end, reasons }) => ({ rank, start, end, reasons }));
      const stored = (await server.highlights.queue.get(id))?.result as { analysis?: { source: string; elapsedMs: number } } | null | undefined;
      const analysis = stored?.analysis ? { source: stored.analysis.source, elapsedMs: stored.analysis.elapsedMs } : null;
      return { seconds: round(seconds), status: view.status, progress: view.progress, stage: view.stage, capped: !finished, clips, reelS: view.result?.reel?.duration ?? null, analysis };
    }
    await sleep(250);
  }
}

/** Seconds of the file ffmpeg's filters reached, from the last `time=` of its stats line (for a capped run's projection). */
function reachedS(stderr: string): number {
  const times = [...stderr.matchAll(/time=(\d+):(\d+):([\d.]+)/g)];
  const last = times[times.length - 1];
  return last ? Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]) : 0;
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-bench-highlights-'));
  const log = (line: string): void => console.log(`[${round((performance.now() - benchStarted) / 1000)} s] ${line}`);
  let server: LivefxServer | undefined;
  try {
    const generateStarted = performance.now();
    const media = await makeHour(scratch);
    const generateS = round((performance.now() - generateStarted) / 1000);
    const mediaMb = round((await stat(media)).size / 2 ** 20);
    log(`generated ${HOUR_S} s of 1280×720 at ${FPS} fps (${mediaMb} MiB) in ${generateS} s`);

    server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: path.join(scratch, 'data'), LIVEFX_LOG_LEVEL: 'silent', LIVEFX_HIGHLIGHT_CONCURRENCY: '1', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
    const url = (await server.start()).url;
    const events = hourEvents();
    const importStarted = performance.now();
    const recording = await server.recorder.importer.import({ media, events, title: 'benchmark hour' });
    const importS = round((performance.now() - importStarted) / 1000);
    log(`imported with ${events.events.length} events in ${importS} s`);

    const previewCold = await timeJob(server, url, { recording_id: recording.id });
    log(`preview, no signals, no cached analysis: ${previewCold.seconds} s (${previewCold.clips.length} clips)`);
    const previewCached = await timeJob(server, url, { recording_id: recording.id });
    log(`preview, no signals, analysis cached: ${previewCached.seconds} s`);

    // The live signals the pipeline would have stored, computed with its code over the first cycle (and 1 s of the next, for the cut between cycles).
    const signalsStarted = performance.now();
    const cycle = await mediaSignalEvents(media, { width: 1280, height: 720, fps: FPS, hasAudio: true, durationS: Math.min(HOUR_S, CYCLE_S + 1) });
    const signalsS = round((performance.now() - signalsStarted) / 1000);
    const tiled = cycle.events.filter((event) => event.t < 1);
    for (let offset = 0; offset < HOUR_S; offset += CYCLE_S) {
      for (const event of cycle.events) if (event.t >= 1 && event.t < CYCLE_S + 1 && event.t + offset < HOUR_S) tiled.push({ ...event, t: round(event.t + offset, 3) });
    }
    const firstSeq = Math.max(0, ...(await server.recorder.catalog.eventSeqs(recording.id))) + 1;
    await server.recorder.catalog.insertEvents(recording.id, tiled.map((event, index) => ({ seq: firstSeq + index, ...event })));
    log(`live signals: ${cycle.frames} frames at ${round(cycle.videoUsPerFrame, 2)} µs/frame, ${round(cycle.audioUsPerSlot, 2)} µs per 100 ms of audio (${signalsS} s with decoding); ${tiled.length} signal events stored`);
    const previewLive = await timeJob(server, url, { recording_id: recording.id });
    log(`preview, stored live signals: ${previewLive.seconds} s (analysis from ${previewLive.analysis?.source})`);
    const elapsedS = (): number => (performance.now() - benchStarted) / 1000;
    const finalLimitS = Math.max(30, Math.min(FINAL_LIMIT_S, TOTAL_LIMIT_S - elapsedS() - BASELINE_LIMIT_S - 15));
    const final = await timeJob(server, url, { recording_id: recording.id, quality: 'final', captions: 'burn' }, finalLimitS);
    // A capped final job is projected from its progress past the cached analysis (the clip cuts and reel are most of it).
    const finalProjectedS = final.capped && final.progress > 0.45 ? round(final.seconds / final.progress) : final.capped ? null : final.seconds;
    log(`final (stored live signals, analysis cached): ${final.seconds} s, ${final.status}${final.capped ? ` at ${round(final.progress * 100)} % (${final.stage}), projected ${finalProjectedS ?? '?'} s` : ''}`);
    await server.close();
    server = undefined;

    const baselineStarted = performance.now();
    const baselineLimitS = Math.max(20, Math.min(BASELINE_LIMIT_S, TOTAL_LIMIT_S - elapsedS() - 10));
    const baseline = await run('ffmpeg', ['-hide_banner', '-i', media, '-vf', 'scdet=t=10', '-af', 'silencedetect=n=-45dB:d=0.8', '-f', 'null', '-'], baselineLimitS);
    const baselineS = round((performance.now() - baselineStarted) / 1000);
    const baselineReached = baseline.capped ? reachedS(baseline.stderr) : HOUR_S;
    const baselineProjectedS = baseline.capped ? (baselineReached > 0 ? round((baselineS * HOUR_S) / baselineReached) : null) : baselineS;
    log(`baseline scdet + silencedetect: ${baselineS} s${baseline.capped ? ` (capped at ${round(baselineReached)} s of the file, projected ${baselineProjectedS} s)` : ''}`);

    const covered = PEAKS.filter((peak) => previewCached.clips.some((clip) => clip.start <= peak && peak <= clip.end));
    const strongest = [...PEAKS.keys()].sort((a, b) => PEAK_PEOPLE[b]! - PEAK_PEOPLE[a]!).slice(0, previewCached.clips.length).map((index) => PEAKS[index]!);
    const load = loadavg().map((value) => round(value, 2));
    const result = {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, loadAverage: load },
      media: { durationS: HOUR_S, width: 1280, height: 720, fps: FPS, videoKbps: VIDEO_KBPS, mib: mediaMb, generateS, events: events.events.length, plantedPeaks: PEAKS },
      importS,
      previewNoCacheS: previewCold.seconds,
      previewCachedS: previewCached.seconds,
      previewNoCacheAnalysisMs: previewCold.analysis?.elapsedMs ?? null,
      previewLiveSignalsS: previewLive.seconds,
      previewLiveSignalsAnalysis: previewLive.analysis,
      liveSignals: {
        note: 'computed with the pipeline code (SceneChangeMeter per decoded 720p frame, levelDbfs per 100 ms of 8 kHz audio) over the first cycle of the show and repeated over the hour',
        frames: cycle.frames,
        videoUsPerFrame: round(cycle.videoUsPerFrame, 2),
        audioUsPer100ms: round(cycle.audioUsPerSlot, 2),
        events: tiled.length,
        computeWithDecodeS: signalsS,
      },
      sameClipsWithLiveSignals: JSON.stringify(previewLive.clips) === JSON.stringify(previewCached.clips),
      previewTargetS: PREVIEW_TARGET_S,
      previewNoCacheRealTimeX: round(HOUR_S / previewCold.seconds),
      previewCachedRealTimeX: round(HOUR_S / previewCached.seconds),
      final: { seconds: final.seconds, status: final.status, capped: final.capped, progress: final.progress, stage: final.stage, projectedS: finalProjectedS, limitS: round(finalLimitS), reelS: final.reelS },
      finalTargetS: FINAL_TARGET_S,
      baseline: { command: 'ffmpeg -i hour.mp4 -vf scdet=t=10 -af silencedetect=n=-45dB:d=0.8 -f null -', seconds: baselineS, capped: baseline.capped, reachedS: round(baselineReached), projectedS: baselineProjectedS, limitS: round(baselineLimitS) },
      clips: previewCached.clips,
      strongestPeaksCovered: `${strongest.filter((peak) => covered.includes(peak)).length} of ${strongest.length}`,
      deterministic: JSON.stringify(previewCold.clips) === JSON.stringify(previewCached.clips),
      benchmarkS: round((performance.now() - benchStarted) / 1000),
    };
    await writeResult('highlights', result, {
      title: `1 h 720p: preview, final, ffmpeg (load ${load[0]})`,
      unit: 's',
      target: { value: PREVIEW_TARGET_S, label: `preview target ${PREVIEW_TARGET_S} s` },
      groups: singleSeriesGroups('seconds', {
        'no cache': previewCold.seconds,
        cached: previewCached.seconds,
        'live signals': previewLive.seconds,
        [final.capped ? 'final*' : 'final']: finalProjectedS ?? final.seconds,
        [baseline.capped ? 'ffmpeg*' : 'ffmpeg']: baselineProjectedS ?? baselineS,
      }),
    });
  } finally {
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
