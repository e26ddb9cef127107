// Which x264 preset and CRF the studio's high renders use: each candidate encodes the same 5 s
// 1080×1920 push-in shot (the studio-render benchmark's 720p noisy source, cropped, zoomed in), and
// is measured for encoder CPU (user + system, independent of the machine's load), bytes, and SSIM
// and PSNR against the uncompressed frames.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { writeResult } from './bar-chart.js';
import { cpuSecondsWithEndedChildren } from './process-usage.js';

const CANDIDATES: { preset: string; crf: number; note?: string }[] = [
  { preset: 'veryfast', crf: 20, note: 'before' },
  { preset: 'faster', crf: 20 },
  { preset: 'superfast', crf: 20 },
  { preset: 'superfast', crf: 23, note: 'chosen' },
  { preset: 'superfast', crf: 24 },
  { preset: 'ultrafast', crf: 18 },
  { preset: 'ultrafast', crf: 20 },
];
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const log = (line: string): void => void process.stderr.write(`studio-encoder-presets bench: ${line}\n`);

function ffmpeg(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`ffmpeg exited with ${code}: ${stderr}`))));
  });
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-encoder-presets-'));
  const loadAtStart = loadavg().map((value) => round(value, 2));
  try {
    // A recording like studio-render's (noisy 720p at a streaming bitrate), then the shot as the
    // studio's encoder receives it: 150 frames of 1080×1920 I420, kept uncompressed.
    const recording = path.join(scratch, 'recording.mp4');
    await ffmpeg(['-y', '-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=30:d=5,noise=alls=12:allf=t', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '3000k', '-g', '60', '-pix_fmt', 'yuv420p', recording]);
    const reference = path.join(scratch, 'shot.y4m');
    await ffmpeg(['-y', '-i', recording, '-vf', "crop=404:720,zoompan=z='1+0.12*on/149':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=1080x1920:fps=30,format=yuv420p", '-frames:v', '150', reference]);
    const rows = [];
    for (const candidate of CANDIDATES) {
      const out = path.join(scratch, `${candidate.preset}-${candidate.crf}.mp4`);
      const before = await cpuSecondsWithEndedChildren(process.pid);
      await ffmpeg(['-y', '-i', reference, '-c:v', 'libx264', '-preset', candidate.preset, '-crf', String(candidate.crf), '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-bf', '0', '-g', '60', '-an', out]);
      const cpuS = round((await cpuSecondsWithEndedChildren(process.pid)) - before, 2);
      const quality = await ffmpeg(['-i', out, '-i', reference, '-lavfi', '[0:v][1:v]ssim;[0:v][1:v]psnr', '-f', 'null', '-']);
      const ssim = Number(/SSIM .*All:([\d.]+)/.exec(quality)?.[1]);
      const psnr = Number(/PSNR .*average:([\d.]+)/.exec(quality)?.[1]);
      const megabytes = round((await stat(out)).size / 1e6, 2);
      rows.push({ ...candidate, cpuS, megabytes, ssim: round(ssim, 4), psnrDb: round(psnr, 1) });
      log(`${candidate.preset} CRF ${candidate.crf}: ${cpuS} s CPU, ${megabytes} MB, SSIM ${ssim}, PSNR ${psnr} dB`);
    }
    const load = loadavg().map((value) => round(value, 2));
    await writeResult(
      'studio-encoder-presets',
      { date: new Date().toISOString(), machine: { cores: cpus().length, loadAverageAtStart: loadAtStart, loadAverage: load }, shot: '150 frames 1080×1920 30 fps, push-in on the 404×720 crop of a noisy 720p recording at 3 Mbit/s (as in studio-render)', rows },
      {
        title: `x264 encoder CPU for a 5 s 1080×1920 shot (load ${load[0]})`,
        unit: 's CPU',
        groups: rows.map((row) => ({ label: `${row.preset} ${row.crf}`, values: { cpu: row.cpuS } })),
      },
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
