// face-blur at 720p: model load, detection time per round (whole frame only vs whole frame + tiles),
// recall on a strip of real photos with small faces, apply() cost with 1–3 faces (against ffmpeg's
// boxblur on the same boxes), and the detection rate a 30 fps stream gets per detectEvery.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaceBlur } from '../transforms/face-blur.js';
import { autoTileGrid, DETECTION_LONG_SIDE_MAX, DETECTION_SHORT_SIDE, TILED_LONG_SIDE_MAX, TILED_SHORT_SIDE } from '../transforms/face-detection/detector-protocol.js';
import { FaceDetector } from '../transforms/face-detection/face-detector.js';
import { RgbDownscaler } from '../transforms/face-detection/rgb-downscaler.js';
import { I420Frame } from '../transforms/frame.js';
import { percentile, writeResult } from './bar-chart.js';
import { projectRoot } from '../test/helpers/livefx-process.js';

const WIDTH = 1280;
const HEIGHT = 720;
const FIXTURE = path.join(projectRoot, 'test', 'fixtures', 'face-man-in-suit.jpg');
/** The fixture at 1.5× (its face about 110×140 px), side by side. */
const FACE_SCALE = 384;
const PLACES = [48, 448, 848];
const RATE_SECONDS = Number(process.env.FACE_BLUR_RATE_SECONDS ?? 6);
const ITERATIONS = Number(process.env.FACE_BLUR_ITERATIONS ?? 60);
const FFMPEG_FRAMES = 150;
const SAMPLES = path.join(projectRoot, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg');
/** The top row of human's samples.jpg (eight photos) across a black 720p frame, at y 270. */
const STRIP_TOP = 270;
/** The real faces in that strip (centres, looked at), and their height in px; the group photo's ~15 faces of 10–14 px are not listed. */
const STRIP_FACES = [
  { name: 'woman in blue (2nd photo)', x: 226, y: 317, height: 60 },
  { name: 'man in a suit (3rd)', x: 452, y: 312, height: 50 },
  { name: 'woman with a phone (4th)', x: 590, y: 291, height: 17 },
  { name: 'woman at a wall (5th)', x: 738, y: 304, height: 32 },
  { name: 'woman on a stool (6th)', x: 838, y: 295, height: 20 },
  { name: 'woman in red (8th)', x: 1168, y: 306, height: 18 },
  { name: 'man in the middle (8th)', x: 1201, y: 288, height: 20 },
  { name: 'woman on the right (8th)', x: 1229, y: 306, height: 17 },
];

function strip(): Buffer {
  const args = ['-loglevel', 'error', '-i', SAMPLES, '-vf', `crop=${WIDTH}:160:0:0,pad=${WIDTH}:${HEIGHT}:0:${STRIP_TOP}:black`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'];
  const result = spawnSync('ffmpeg', args, { maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
}

function scene(faces: number): Buffer {
  const inputs = ['-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}`];
  let graph = '';
  let last = '0:v';
  for (let face = 0; face < faces; face++) {
    inputs.push('-i', FIXTURE);
    graph += `[${face + 1}:v]scale=${FACE_SCALE}:${FACE_SCALE}[f${face}];[${last}][f${face}]overlay=${PLACES[face]}:168[o${face}];`;
    last = `o${face}`;
  }
  const args = ['-loglevel', 'error', ...inputs, ...(faces > 0 ? ['-filter_complex', graph.slice(0, -1), '-map', `[${last}]`] : []), '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'];
  const result = spawnSync('ffmpeg', args, { maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
}

const round = (value: number) => Math.round(value * 100) / 100;
const median = (values: number[]) => percentile(values, 0.5);
const clock = (frameIndex: number) => ({ frameIndex, frameIntervalMs: 1000 / 30 });

// Model load: thread start to ready, three times.
const loads: { readyMs: number; modelLoadMs: number; warmupMs: number }[] = [];
for (let run = 0; run < 3; run++) {
  const start = performance.now();
  const detector = new FaceDetector();
  await detector.whenReady();
  if (!detector.ready) throw new Error(`detector failed: ${detector.lastError}`);
  loads.push({ readyMs: round(performance.now() - start), modelLoadMs: round(detector.modelLoadMs), warmupMs: round(detector.warmupMs) });
  const exited = detector.whenExited();
  detector.close();
  await exited;
}
console.log(JSON.stringify({ loads }));

// Detection time per round, in the thread and round trip: the whole frame at 256 px alone, and with the tiles.
const detection = await (async () => {
  const detector = new FaceDetector();
  await detector.whenReady();
  const frame = new I420Frame(WIDTH, HEIGHT);
  scene(3).copy(frame.buffer);
  const rows = [];
  for (const [tiled, perRound] of [[false, 0], [true, 6], [true, 2]] as const) {
    const downscaler = new RgbDownscaler();
    downscaler.resize(WIDTH, HEIGHT, tiled ? TILED_SHORT_SIDE : DETECTION_SHORT_SIDE, tiled ? TILED_LONG_SIDE_MAX : DETECTION_LONG_SIDE_MAX);
    const grid = tiled ? autoTileGrid(WIDTH, HEIGHT) : { columns: 1, rows: 1 };
    const inThread: number[] = [];
    const roundTrip: number[] = [];
    const downscale: number[] = [];
    const handOff: number[] = [];
    let faces = 0;
    for (let call = 0; call < 20; call++) {
      // What the sender would spend scaling (frames over 1080p); up to 1080p it only copies the frame over.
      const scaleStart = performance.now();
      downscaler.write(frame, detector.image);
      downscale.push(performance.now() - scaleStart);
      const start = performance.now();
      detector.submitFrame(frame, call, grid.columns, grid.rows, (call * perRound) % (grid.columns * grid.rows), perRound);
      handOff.push(performance.now() - start);
      await detector.waitForResult();
      detector.takeResult();
      roundTrip.push(performance.now() - start);
      inThread.push(detector.resultMs);
      faces = 0;
      for (let face = 0; face < detector.resultCount; face++) if (detector.faces[face * 5 + 4]! >= 0.4) faces++;
    }
    const row = { tiles: tiled ? `${grid.columns}x${grid.rows}, ${perRound} per round` : 'off', input: `${downscaler.width}x${downscaler.height}`, passes: detector.resultPasses, faces, inThreadMs: round(median(inThread)), roundTripMs: round(median(roundTrip)), handOffMs: round(median(handOff)), senderDownscaleMs: round(median(downscale)) };
    rows.push(row);
  }
  const exited = detector.whenExited();
  detector.close();
  await exited;
  return rows;
})();
console.log(JSON.stringify({ detection }));

// Recall on the strip: which listed faces have their centre inside a hidden box after one offline frame.
const recall = await (async () => {
  const input = strip();
  const rows = [];
  for (const tiles of ['off', 'auto'] as const) {
    const blur = new FaceBlur(() => {});
    blur.configure(blur.params.parse({ tiles }));
    const frame = new I420Frame(WIDTH, HEIGHT);
    input.copy(frame.buffer);
    await blur.prepare(frame, clock(0));
    blur.apply(frame, clock(0));
    const boxes = blur.hiddenBoxes();
    const found = STRIP_FACES.filter((face) => boxes.some(([left, top, right, bottom]) => left <= face.x && face.x <= right && top <= face.y && face.y <= bottom));
    const big = STRIP_FACES.filter((face) => face.height >= 30);
    rows.push({ tiles, boxes: boxes.length, found: found.map((face) => face.name), recall: `${found.length}/${STRIP_FACES.length}`, recallAtLeast30px: `${found.filter((face) => face.height >= 30).length}/${big.length}` });
    const exited = blur.faceDetector!.whenExited();
    blur.close();
    await exited;
  }
  return rows;
})();
console.log(JSON.stringify({ recall }));

/** CPU ms per frame ffmpeg spends in `graph` on one thread (run with it minus run without it). */
function ffmpegMs(graph: string, input: Buffer): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'livefx-bench-face-blur-'));
  const file = path.join(dir, 'frame.yuv');
  writeFileSync(file, input);
  const cpuSeconds = (filter: string): number => {
    const result = spawnSync('ffmpeg', [
      '-hide_banner', '-benchmark', '-threads', '1', '-filter_threads', '1', '-filter_complex_threads', '1',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${WIDTH}x${HEIGHT}`, '-framerate', '30', '-stream_loop', String(FFMPEG_FRAMES - 1), '-i', file,
      '-filter_complex', `[0:v]${filter}`, '-f', 'null', '-',
    ]);
    const match = /utime=([\d.]+)s stime=([\d.]+)s/.exec(result.stderr.toString());
    if (!match) throw new Error(`no -benchmark line: ${result.stderr.toString().slice(-500)}`);
    return Number(match[1]) + Number(match[2]);
  };
  const base = Math.min(cpuSeconds('null'), cpuSeconds('null'));
  const withGraph = Math.min(cpuSeconds(graph), cpuSeconds(graph));
  rmSync(dir, { recursive: true, force: true });
  return Math.max(0, ((withGraph - base) * 1000) / FFMPEG_FRAMES);
}

// apply() with 1–3 faces: boxes from one offline detection, then tracked frames (no detection due)
// and live detection frames (which also downscale the frame for the detector).
const applyRows: { faces: number; trackedFrameMs: number; trackedFrameCpuMs: number; ellipseFrameCpuMs: number; detectionFrameMs: number; ffmpegBoxblurMs: number; boxes: number[][] }[] = [];
for (const faces of [1, 2, 3]) {
  const input = scene(faces);
  const blur = new FaceBlur(() => {});
  // Box shape: what ffmpeg's crop + boxblur + overlay does too; the default ellipse is timed after.
  blur.configure(blur.params.parse({ detectEvery: 30, shape: 'box' }));
  const frame = new I420Frame(WIDTH, HEIGHT);
  input.copy(frame.buffer);
  await blur.prepare(frame, clock(0));
  blur.apply(frame, clock(0));
  const boxes = blur.hiddenBoxes();
  const tracked: number[] = [];
  let trackedCpuMicros = 0;
  for (let index = 1; tracked.length < ITERATIONS; index++) {
    if (index % 30 === 0) continue;
    input.copy(frame.buffer);
    // The detector thread is idle on these frames, so the process's CPU time is apply()'s.
    const cpu = process.cpuUsage();
    const start = performance.now();
    blur.apply(frame, clock(index));
    tracked.push(performance.now() - start);
    const used = process.cpuUsage(cpu);
    trackedCpuMicros += used.user + used.system;
  }
  blur.configure(blur.params.parse({ detectEvery: 30, shape: 'ellipse' }));
  let ellipseCpuMicros = 0;
  for (let index = 31, timed = 0; timed < ITERATIONS; index++) {
    if (index % 30 === 0) continue;
    input.copy(frame.buffer);
    const cpu = process.cpuUsage();
    blur.apply(frame, clock(index));
    const used = process.cpuUsage(cpu);
    ellipseCpuMicros += used.user + used.system;
    timed++;
  }
  blur.configure(blur.params.parse({ detectEvery: 1, shape: 'box' }));
  const detecting: number[] = [];
  for (let index = 120; detecting.length < ITERATIONS; index++) {
    input.copy(frame.buffer);
    await blur.faceDetector!.waitForResult();
    const start = performance.now();
    blur.apply(frame, clock(index));
    detecting.push(performance.now() - start);
  }
  const exited = blur.faceDetector!.whenExited();
  blur.close();
  await exited;
  // The same boxes with ffmpeg: crop each, boxblur it with the same radius and 3 passes, overlay it back.
  let graph = `split=${boxes.length + 1}[base]${boxes.map((_, box) => `[c${box}]`).join('')};`;
  let last = 'base';
  boxes.forEach(([left, top, right, bottom], box) => {
    const radius = Math.max(2, Math.round((0.7 * Math.min(right! - left!, bottom! - top!)) / 5));
    graph += `[c${box}]crop=${right! - left!}:${bottom! - top!}:${left}:${top},boxblur=luma_radius=${radius}:luma_power=3:chroma_radius=${Math.max(1, radius >> 1)}:chroma_power=3[b${box}];[${last}][b${box}]overlay=${left}:${top}[o${box}];`;
    last = `o${box}`;
  });
  graph += `[${last}]null`;
  const row = { faces, trackedFrameMs: round(median(tracked)), trackedFrameCpuMs: round(trackedCpuMicros / 1000 / ITERATIONS), ellipseFrameCpuMs: round(ellipseCpuMicros / 1000 / ITERATIONS), detectionFrameMs: round(median(detecting)), ffmpegBoxblurMs: round(ffmpegMs(graph, input)), boxes };
  applyRows.push(row);
  console.log(JSON.stringify(row));
}

// Detection rate of a live 720p30 stream: frames every 33.3 ms, apply() never waits.
const rateRows: { tiles: string; tilesPerRound: number; detectEvery: number; detectionsPerSecond: number; skippedPerSecond: number; dueDetectionsPerSecond: number }[] = [];
for (const [tiles, tilesPerRound, detectEvery] of [['off', 2, 5], ['auto', 2, 1], ['auto', 2, 3], ['auto', 2, 5], ['auto', 6, 5]] as const) {
  const input = scene(2);
  const blur = new FaceBlur(() => {});
  blur.configure(blur.params.parse({ detectEvery, tiles, tilesPerRound }));
  await blur.faceDetector!.whenReady();
  const frame = new I420Frame(WIDTH, HEIGHT);
  const frames = Math.round(RATE_SECONDS * 30);
  const start = performance.now();
  for (let index = 0; index < frames; index++) {
    input.copy(frame.buffer);
    blur.apply(frame, clock(index));
    const next = start + ((index + 1) * 1000) / 30;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  const seconds = (performance.now() - start) / 1000;
  const status = blur.status();
  const exited = blur.faceDetector!.whenExited();
  blur.close();
  await exited;
  const row = { tiles, tilesPerRound, detectEvery, detectionsPerSecond: round(status.detections / seconds), skippedPerSecond: round(status.skippedDetections / seconds), dueDetectionsPerSecond: round(30 / detectEvery) };
  rateRows.push(row);
  console.log(JSON.stringify(row));
}

const result = {
  benchmark: 'face-blur at 1280x720',
  date: new Date().toISOString(),
  method: 'model load: thread start to ready (3 runs); detection: median of 20 rounds on a 720p frame with 3 faces, whole frame only (tiles off), whole frame + all 3x2 tiles (what prepare() does offline), whole frame + 2 tiles (a live round by default); in-thread includes scaling the I420 frame there, hand-off is the copy into shared memory, senderDownscaleMs what scaling on the stream side costs (frames over 1080p); recall: one offline frame of the samples.jpg strip, a listed face counts when its centre is in a hidden box; apply: median wall ms of 60 frames and mean CPU ms (tracked frames only, detector idle), tracked (no detection due) and detection frames (frame copy + hand-off; the detector thread then competes for the 2 cores); ffmpeg: crop+boxblur(3 passes)+overlay on the same boxes, CPU time with minus without over 150 frames, one thread; rate: a 30 fps frame clock for a few seconds, apply() never waits',
  loads,
  detection,
  recall,
  apply: applyRows,
  rate: rateRows,
};
await writeResult('face-blur', result, {
  title: 'face-blur apply() at 720p, ms per frame: livefx vs ffmpeg boxblur on the same boxes',
  unit: 'ms per frame',
  groups: applyRows.map((row) => ({ label: `${row.faces} face${row.faces > 1 ? 's' : ''}`, values: { 'livefx tracked frame (CPU)': row.trackedFrameCpuMs, 'livefx detection frame': row.detectionFrameMs, 'ffmpeg boxblur': row.ffmpegBoxblurMs } })),
});
