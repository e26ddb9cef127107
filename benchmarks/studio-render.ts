// Studio render benchmark, side by side in one run on this machine:
// 1. a 4-shot 30 s 9:16 storyboard from a 720p recording rendered as a preview (cold shot cache);
// 2. the same storyboard rendered high (1080×1920, 30 fps, x264 CRF) (cold: the preview's shots differ);
// 3. a variant with one text changed, high (the other shots come from the shot cache);
// 4. the baseline: one ffmpeg filter graph doing the same cuts, scaling, text, grade and audio mix;
// plus the peak RSS of the server process and of its ffmpeg children during the renders.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../core/config.js';
import { LivefxServer } from '../server/livefx-server.js';
import type { StoryboardStore } from '../studio/ports.js';
import type { Storyboard, StoryboardBody } from '../studio/storyboard.js';
import { bedExpression } from '../studio/audio-beds.js';
import { singleSeriesGroups, writeResult } from './bar-chart.js';
import { ADMIN_TOKEN, adminFetch as fetch } from '../test/helpers/livefx-process.js';
import { cpuSecondsWithEndedChildren } from './process-usage.js';

const SOURCE_S = 60;
const PREVIEW_TARGET_S = 10;
const HIGH_TARGET_S = 60;
const VARIANT_TARGET_FRACTION = 0.35;
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const log = (line: string): void => void process.stderr.write(`studio-render bench: ${line}\n`);
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const FONT_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(round((performance.now() - started) / 1000, 2)) : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

/** A 60 s 1280×720 30 fps recording at a streaming bitrate, with flite speech over a quiet tone. */
async function makeRecording(dir: string): Promise<string> {
  const file = path.join(dir, 'recording.mp4');
  const speech = 'Welcome to the garden hour. These tomatoes grew all summer long. Next weekend we plan the new beds and the greenhouse. Thanks for watching everyone.';
  await run('ffmpeg', [
    '-hide_banner', '-y',
    ...['-f', 'lavfi', '-i', `testsrc2=s=1280x720:r=30:d=${SOURCE_S}`, '-f', 'lavfi', '-i', `sine=f=220:sample_rate=48000:d=${SOURCE_S}`, '-f', 'lavfi', '-i', `flite=text='${speech}':voice=kal`],
    '-filter_complex', '[0:v]noise=alls=12:allf=t[v];[1:a]volume=0.05[tone];[2:a]aresample=48000,adelay=2000:all=1,apad[voice];[tone][voice]amix=inputs=2:normalize=0:duration=first[a]',
    ...['-map', '[v]', '-map', '[a]', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '3000k', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', String(SOURCE_S), file],
  ]);
  return file;
}

function storyboard(recordingId: string, endText: string): StoryboardBody {
  return {
    prompt: '30s recap of the garden hour and the weekend plans, warm look, vertical',
    style: 'warm',
    aspect: '9:16',
    duration_s: 30,
    seed: 42,
    captions: true,
    shots: [
      { index: 0, start: 0, duration: 4, kind: 'title', text: 'The Garden Hour', reasons: ['title'] },
      { index: 1, start: 4, duration: 9, kind: 'clip', source: { recording_id: recordingId, in: 2, out: 11 }, camera: 'push-in', transition: { name: 'fade', duration: 0.5 }, text: 'Summer tomatoes', reasons: ["transcript: 'tomatoes'"] },
      { index: 2, start: 13, duration: 9, kind: 'clip', source: { recording_id: recordingId, in: 12, out: 21 }, camera: 'pan-right', transition: { name: 'wipe', duration: 0.5 }, reasons: ["transcript: 'weekend'"] },
      { index: 3, start: 22, duration: 8, kind: 'clip', source: { recording_id: recordingId, in: 30, out: 38 }, camera: 'static', transition: { name: 'slide', duration: 0.5 }, text: endText, reasons: ['end'] },
    ],
    music: { track: 'uplift', gain_db: -14, duck: true },
  };
}

/** The same video as one ffmpeg graph: cuts, cover crop and scale, camera moves, text, eq grade, fades, audio mix with ducking and loudnorm. */
function baselineArgs(recording: string, out: string, endText: string): string[] {
  const vertical = "crop=w='trunc(ih*9/16/2)*2':h=ih,scale=1080:1920";
  const grade = 'eq=saturation=1.1:contrast=1.05,colorbalance=rs=0.08:bs=-0.08';
  const text = (value: string, y: string, size: number, bold = false): string => `drawtext=fontfile=${bold ? FONT_BOLD : FONT}:text='${value}':fontsize=${size}:fontcolor=white:box=${bold ? 0 : 1}:boxcolor=black@0.55:x=(w-text_w)/2:y=${y}`;
  const video = [
    `color=c=0x1b2a4a:s=1080x1920:r=30:d=4.5,${text('The Garden Hour', '(h-text_h)/2', 92, true)},format=yuv420p[t0]`,
    `[0:v]trim=2:11.5,setpts=PTS-STARTPTS,fps=30,${vertical},zoompan=z='1+0.12*on/284':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=1080x1920:fps=30,${grade},${text('Summer tomatoes', 'h*0.68', 59)},format=yuv420p[c1]`,
    `[0:v]trim=12:21.5,setpts=PTS-STARTPTS,fps=30,${vertical},zoompan=z='1.12':x='(iw-iw/zoom)*on/284':y='ih/2-ih/zoom/2':d=1:s=1080x1920:fps=30,${grade},format=yuv420p[c2]`,
    `[0:v]trim=30:38,setpts=PTS-STARTPTS,fps=30,${vertical},${grade},${text(endText, 'h*0.68', 59)},format=yuv420p[c3]`,
    '[t0][c1]xfade=transition=fade:duration=0.5:offset=4[x1]',
    '[x1][c2]xfade=transition=wipeleft:duration=0.5:offset=13[x2]',
    '[x2][c3]xfade=transition=slideleft:duration=0.5:offset=22[v]',
  ];
  const audio = [
    '[0:a]atrim=2:11.5,asetpts=PTS-STARTPTS,adelay=4000:all=1[a1]',
    '[0:a]atrim=12:21.5,asetpts=PTS-STARTPTS,adelay=13000:all=1[a2]',
    '[0:a]atrim=30:38,asetpts=PTS-STARTPTS,adelay=22000:all=1[a3]',
    '[a1][a2][a3]amix=inputs=3:normalize=0,apad,atrim=0:30,asplit=2[speech][key]',
    `[1:a]volume=-14dB[music]`,
    '[music][key]sidechaincompress=threshold=0.01:ratio=12:attack=10:release=400[ducked]',
    '[speech][ducked]amix=inputs=2:normalize=0:duration=first,loudnorm=I=-14:TP=-1.5:LRA=20,aresample=48000[a]',
  ];
  return [
    '-hide_banner', '-y', '-i', recording, '-f', 'lavfi', '-t', '30', '-i', `aevalsrc=exprs='${bedExpression('uplift')}':s=48000:d=30`,
    '-filter_complex', [...video, ...audio].join(';'),
    ...['-map', '[v]', '-map', '[a]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '192k', '-t', '30', out],
  ];
}

class MemoryStore implements StoryboardStore {
  private readonly boards = new Map<string, Storyboard>();
  private next = 1;
  async create(body: StoryboardBody, provenance: Storyboard['provenance']): Promise<Storyboard> {
    const storyboard: Storyboard = { ...body, id: `bench-${this.next++}`, provenance, created_at: '2026-12-06T00:00:00.000Z', updated_at: '2026-12-06T00:00:00.000Z' };
    this.boards.set(storyboard.id, storyboard);
    return storyboard;
  }
  async get(id: string): Promise<Storyboard | undefined> {
    return this.boards.get(id);
  }
  async list(): Promise<Storyboard[]> {
    return [...this.boards.values()];
  }
  async replace(): Promise<Storyboard | undefined> {
    return undefined;
  }
  async delete(id: string): Promise<boolean> {
    return this.boards.delete(id);
  }
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-studio-bench-'));
  const store = new MemoryStore();
  let server: LivefxServer | undefined;
  // Sampled by a process of its own, so its reads of /proc are not in the CPU seconds measured here.
  const sampler = spawn(process.execPath, [fileURLToPath(new URL('./rss-sampler.js', import.meta.url)), String(process.pid), '100'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const samplerLines = createInterface({ input: sampler.stdout! });
  const peakRss = async (): Promise<{ serverRssMb: number; childrenRssMb: number }> => {
    const answer = once(samplerLines, 'line');
    sampler.stdin!.write('peak\n');
    return JSON.parse(String((await answer)[0])) as { serverRssMb: number; childrenRssMb: number };
  };
  const loadAtStart = loadavg().map((value) => round(value, 2));
  try {
    const started = performance.now();
    // `--recording <file>` reuses a recording made earlier by makeRecording (it takes minutes on a busy machine).
    const given = process.argv.indexOf('--recording');
    const recording = given > 0 && process.argv[given + 1] ? process.argv[given + 1]! : await makeRecording(scratch);
    log(`recording ${recording} ready in ${round((performance.now() - started) / 1000)} s`);
    server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: path.join(scratch, 'data'), LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN, LIVEFX_LOG_LEVEL: 'silent' }), log: pino({ level: 'silent' }), parts: { storyboards: store } });
    const { url } = await server.start();
    const recordingId = (await server.recorder.importer.import({ media: recording, title: 'garden hour' })).id;
    // The end of a render is taken from the job queue's event, not by polling the API: polling ran
    // inside the measured process and, on a busy machine, cost seconds of its CPU per render.
    const ended = new Map<string, () => void>();
    const endedIds = new Set<string>();
    const onEnd = (job: { id: string }): void => {
      endedIds.add(job.id);
      ended.get(job.id)?.();
    };
    server.renders.queue.on('done', onEnd).on('failed', onEnd);
    const renderS = async (body: StoryboardBody, quality: 'preview' | 'high'): Promise<{ seconds: number; cpuS: number; shots: { index: number; cached: boolean; ms: number }[] }> => {
      const cpuBefore = await cpuSecondsWithEndedChildren(process.pid);
      const board = await store.create(body, { planner: 'benchmark', prompt: body.prompt, seed: body.seed, sources: [], asset_ids: [], planned_at: '2026-12-06T00:00:00.000Z' });
      const renderStarted = performance.now();
      const posted = (await (await fetch(`${url}/v1/video/renders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storyboard_id: board.id, quality }) })).json()) as { id: string };
      await new Promise<void>((resolve) => (endedIds.has(posted.id) ? resolve() : ended.set(posted.id, resolve)));
      const seconds = round((performance.now() - renderStarted) / 1000, 2);
      const cpuS = round((await cpuSecondsWithEndedChildren(process.pid)) - cpuBefore, 1);
      const view = (await (await fetch(`${url}/v1/video/renders/${posted.id}`)).json()) as { status: string; error?: string; result?: { shots: { index: number; cached: boolean; ms: number }[] } };
      if (view.status !== 'done') throw new Error(`render ${posted.id} ${view.status}: ${view.error}`);
      return { seconds, cpuS, shots: view.result!.shots };
    };
    const preview = await renderS(storyboard(recordingId, 'See you next week'), 'preview');
    log(`preview ${preview.seconds} s (${preview.cpuS} s CPU, load ${loadavg().map((value) => round(value, 2)).join(' ')})`);
    // `--preview-only`: the preview alone, nothing written (for profiling the preview's stages), then
    // another preview on the now warm server: new shots (another seed) and a new audio mix (gain).
    if (process.argv.includes('--preview-only')) {
      const warm = await renderS({ ...storyboard(recordingId, 'See you next week'), seed: 43, music: { track: 'uplift', gain_db: -13, duck: true } }, 'preview');
      log(`second preview, warm server: ${warm.seconds} s (${warm.cpuS} s CPU, load ${loadavg().map((value) => round(value, 2)).join(' ')}); peak RSS ${JSON.stringify(await peakRss())}`);
      return;
    }
    const high = await renderS(storyboard(recordingId, 'See you next week'), 'high');
    log(`high ${high.seconds} s (${high.cpuS} s CPU)`);
    const variant = await renderS(storyboard(recordingId, 'See you on Sunday'), 'high');
    log(`variant ${variant.seconds} s, ${variant.cpuS} s CPU (${variant.shots.map((shot) => shot.cached).join(', ')})`);
    const peakDuringRenders = await peakRss();
    const loadBefore = loadavg().map((value) => round(value, 2));
    const baselineCpuBefore = await cpuSecondsWithEndedChildren(process.pid);
    const baselineS = await run('ffmpeg', baselineArgs(recording, path.join(scratch, 'baseline.mp4'), 'See you next week'));
    const baselineCpuS = round((await cpuSecondsWithEndedChildren(process.pid)) - baselineCpuBefore, 1);
    log(`baseline single ffmpeg graph ${baselineS} s (${baselineCpuS} s CPU)`);
    const load = loadavg().map((value) => round(value, 2));
    const result = {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, loadAverageAtStart: loadAtStart, loadAverageBeforeBaseline: loadBefore, loadAverage: load },
      cpuNote: 'CPU seconds (user + system) of the server process and its ffmpeg children over each render, the same for the baseline ffmpeg: independent of what else runs on the machine',
      storyboard: { shots: 4, durationS: 30, aspect: '9:16', style: 'warm', source: '1280×720 30 fps H.264 3 Mbit/s with AAC speech', captions: true, music: 'uplift, ducked' },
      previewS: preview.seconds,
      previewTargetS: PREVIEW_TARGET_S,
      previewCpuS: preview.cpuS,
      previewShots: preview.shots,
      highS: high.seconds,
      highTargetS: HIGH_TARGET_S,
      highRealTimeX: round(30 / high.seconds, 2),
      highCpuS: high.cpuS,
      highShots: high.shots,
      variantS: variant.seconds,
      variantFractionOfHigh: round(variant.seconds / high.seconds, 2),
      variantTargetFraction: VARIANT_TARGET_FRACTION,
      variantCpuS: variant.cpuS,
      variantShots: variant.shots,
      baseline: { what: 'one ffmpeg filter graph: the same cuts, cover crop and scale, camera moves, text, eq grade, xfades, audio mix with ducking and one-pass loudnorm, x264 veryfast CRF 20', seconds: baselineS, cpuS: baselineCpuS },
      peakRssMb: { serverProcess: peakDuringRenders.serverRssMb, ffmpegChildren: peakDuringRenders.childrenRssMb, note: 'the server runs in the benchmark process; the look pass worker thread is inside it' },
    };
    await writeResult('studio-render', result, {
      title: `4-shot 30 s 9:16 studio render from 720p (load ${load[0]})`,
      unit: 's',
      target: { value: HIGH_TARGET_S, label: `high target ${HIGH_TARGET_S} s` },
      groups: singleSeriesGroups('seconds', { preview: preview.seconds, high: high.seconds, variant: variant.seconds, 'ffmpeg graph': baselineS }),
    });
  } finally {
    sampler.stdin!.end();
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
