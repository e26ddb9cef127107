// The face model of follow-face shots: each shot's face sampler used to start its own thread and load
// BlazeFace; now the render service keeps one sampler thread warm with its model loaded. This runs the
// sampler over the same 9 s shot of a 720p recording with a face (the test fixture's photo moving
// across a flat background): cold (a new thread and model each time, as before) and warm (a kept thread),
// and reports wall time and CPU seconds (this process's threads and the ffmpeg decoders) per shot.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FACE_SAMPLER_WORKER, FaceSampler } from '../studio/face-sampler.js';
import { WorkerPool } from '../studio/worker-pool.js';
import { writeResult } from './bar-chart.js';
import { cpuSecondsWithEndedChildren } from './process-usage.js';

const SHOT_S = 9;
const RUNS = Number(process.env.FOLLOW_FACE_RUNS ?? 4);
const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const FACE_PHOTO = fileURLToPath(new URL('../../test/fixtures/face-man-in-suit.jpg', import.meta.url));

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}`))));
  });
}

async function sampleOnce(file: string, pool?: WorkerPool): Promise<{ seconds: number; cpuS: number; samples: number; faces: number }> {
  const cpuBefore = await cpuSecondsWithEndedChildren(process.pid);
  const started = performance.now();
  const samples = await new FaceSampler({ ffmpeg: 'ffmpeg', file, sourceWidth: 1280, sourceHeight: 720, in: 0, seconds: SHOT_S, signal: new AbortController().signal, stallS: 120, ...(pool ? { pool } : {}) }).run();
  const seconds = round((performance.now() - started) / 1000);
  const cpuS = round((await cpuSecondsWithEndedChildren(process.pid)) - cpuBefore);
  return { seconds, cpuS, samples: samples.length, faces: samples.filter((sample) => sample.faces.length > 0).length };
}

const median = (values: number[]): number => round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-follow-face-bench-'));
  const pool = new WorkerPool({ maxIdle: { [FACE_SAMPLER_WORKER]: 1 }, idleMs: 600_000 });
  try {
    const file = path.join(scratch, 'face.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', `color=c=0x335577:s=1280x720:r=30:d=${SHOT_S + 1}`, '-loop', '1', '-i', FACE_PHOTO, '-filter_complex', `[1:v]scale=384:-2[face];[0:v][face]overlay=x='200+60*t':y=120:shortest=1,format=yuv420p`, '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-t', String(SHOT_S + 1), file]);
    const loadAtStart = loadavg().map((value) => round(value));
    const cold: Awaited<ReturnType<typeof sampleOnce>>[] = [];
    const warm: Awaited<ReturnType<typeof sampleOnce>>[] = [];
    await sampleOnce(file, pool); // loads the kept thread's model (the first follow-face shot of a server)
    // Alternated, so both see the same moments of a shared machine's load.
    for (let run = 0; run < RUNS; run++) {
      cold.push(await sampleOnce(file));
      warm.push(await sampleOnce(file, pool));
    }
    const result = {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, loadAverageAtStart: loadAtStart, loadAverage: loadavg().map((value) => round(value)) },
      shot: { seconds: SHOT_S, source: '1280×720 30 fps H.264, one face moving', sampleFps: 3 },
      cold: { runs: cold, medianS: median(cold.map((run) => run.seconds)), medianCpuS: median(cold.map((run) => run.cpuS)) },
      warm: { runs: warm, medianS: median(warm.map((run) => run.seconds)), medianCpuS: median(warm.map((run) => run.cpuS)) },
    };
    process.stderr.write(`follow-face sampler per ${SHOT_S} s shot: cold ${result.cold.medianS} s (${result.cold.medianCpuS} s CPU), warm ${result.warm.medianS} s (${result.warm.medianCpuS} s CPU), load ${result.machine.loadAverage.join(' ')}\n`);
    await writeResult('studio-follow-face', result, {
      title: `follow-face sampling of a ${SHOT_S} s 720p shot (load ${result.machine.loadAverage[0]})`,
      unit: 's',
      groups: [
        { label: 'new thread + model (before)', values: { wall: result.cold.medianS, CPU: result.cold.medianCpuS } },
        { label: 'warm thread (now)', values: { wall: result.warm.medianS, CPU: result.warm.medianCpuS } },
      ],
    });
  } finally {
    await pool.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
