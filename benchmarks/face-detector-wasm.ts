// BlazeFace on tfjs's wasm backend with and without WebAssembly SIMD, with threads asked for, and on
// tfjs's WebGPU backend (a GPU where there is one, else Mesa's software adapter, named in the result):
// CPU ms and wall ms per detection pass at the face detector's input sizes for a 720p stream (the
// whole frame at 256 px, and one tile of the 2 × 3 grid), each mode in a process of its own (tfjs's
// flags are per process). Per stream: face-blur's defaults at 30 fps (detectEvery 5, the whole frame
// plus 2 tiles a round) ask for 6 rounds a second; a round that needs more than 1/6 s of a core gets fewer.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBlazeFaceHuman, installTfjsWebgpu, wasmExecution } from '../transforms/face-detection/blazeface-human.js';
import { autoTileGrid, DETECTION_SHORT_SIDE, TILED_SHORT_SIDE, tileRect } from '../transforms/face-detection/detector-protocol.js';
import { writeResult } from './bar-chart.js';
import { round } from './transform-timing.js';

const MODES = ['simd', 'no-simd', 'threads', 'webgpu'] as const;
type Mode = (typeof MODES)[number];
const PASSES = Number(process.env.FACE_DETECTOR_PASSES ?? 30);
const ROUNDS_PER_SECOND = 30 / 5;
const TILES_PER_ROUND = 2;
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'face-man-in-suit.jpg');

interface PassTiming {
  cpuMs: number;
  wallMs: number;
}
interface ModeResult {
  mode: Mode;
  simd?: boolean;
  threads?: boolean;
  /** webgpu: the adapter tfjs ran on. */
  adapter?: string;
  error?: string;
  whole?: PassTiming;
  tile?: PassTiming;
}

/** The fixture photo as int32 RGB at width × height, as the detector thread hands it to tfjs. */
function rgb(width: number, height: number): Int32Array {
  const bytes = execFileSync('ffmpeg', ['-loglevel', 'error', '-i', FIXTURE, '-vf', `scale=${width}:${height}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 26 });
  return Int32Array.from(bytes);
}

/** webgpu: whether tfjs got Mesa's software adapter (no hardware one opened). */
let software = false;

async function measureMode(mode: Mode): Promise<ModeResult> {
  if (mode === 'webgpu') {
    // The platform's GPU first; Mesa's software adapter where there is none (correct, and slow).
    software = (await installTfjsWebgpu({ allowSoftware: false })) !== undefined;
    const refused = software && (await installTfjsWebgpu({ allowSoftware: true }));
    if (refused) return { mode, error: refused };
  }
  const human = createBlazeFaceHuman({ minConfidence: 0.4, simd: mode !== 'no-simd', backend: mode === 'webgpu' ? 'webgpu' : 'wasm' });
  if (mode === 'threads') human.tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    await human.load();
    await human.tf.ready();
  } catch (error) {
    return { mode, error: error instanceof Error ? error.message : String((error as { message?: string })?.message ?? error) };
  }
  const wanted = mode === 'webgpu' ? 'webgpu' : 'wasm';
  if (human.tf.getBackend() !== wanted) return { mode, error: `tfjs fell back to ${human.tf.getBackend()}` };
  const tiled = { width: Math.round((TILED_SHORT_SIDE * 16) / 9), height: TILED_SHORT_SIDE };
  const grid = autoTileGrid(1280, 720);
  const tile = tileRect(tiled.width, tiled.height, grid.columns, grid.rows, 0);
  const time = async (width: number, height: number): Promise<PassTiming> => {
    const tensor = human.tf.tensor3d(rgb(width, height), [height, width, 3], 'int32');
    for (let warm = 0; warm < 3; warm++) await human.detect(tensor);
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let pass = 0; pass < PASSES; pass++) await human.detect(tensor);
    const used = process.cpuUsage(cpu);
    human.tf.dispose(tensor);
    return { cpuMs: round((used.user + used.system) / 1000 / PASSES), wallMs: round((performance.now() - start) / PASSES) };
  };
  const execution = mode === 'webgpu' ? { adapter: adapterOf(human) } : await wasmExecution(human);
  return { mode, ...execution, whole: await time(Math.round((DETECTION_SHORT_SIDE * 16) / 9), DETECTION_SHORT_SIDE), tile: await time(tile.width, tile.height) };
}

/** The adapter behind tfjs's WebGPU backend, as the result names it. */
function adapterOf(human: ReturnType<typeof createBlazeFaceHuman>): string {
  const info = (human.tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string; description?: string } }).adapterInfo;
  const name = [info?.description, info?.vendor, info?.architecture].filter(Boolean).join(' / ') || 'unnamed adapter';
  return software ? `${name} (software: Mesa, OpenGL ES)` : name;
}

const child = process.argv[2];
if (child) {
  process.stdout.write(`${JSON.stringify(await measureMode(child as Mode))}\n`);
  process.exit(0);
}

const loadBefore = loadavg().map(round);
const rows = MODES.map((mode) => {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  const measured = (line.startsWith('{') ? JSON.parse(line) : { mode, error: `exit ${run.status}: ${run.stderr.trim().split('\n').slice(-2).join(' | ')}` }) as ModeResult;
  if (!measured.whole || !measured.tile) return { ...measured };
  const roundCpuMs = measured.whole.cpuMs + TILES_PER_ROUND * measured.tile.cpuMs;
  // From CPU time, not wall time: what a core of its own gives a stream (on a loaded machine, wall time counts the others).
  const roundsPerSecond = Math.min(ROUNDS_PER_SECOND, 1000 / roundCpuMs);
  return { ...measured, roundCpuMs: round(roundCpuMs), roundsPerSecond: round(roundsPerSecond), passesPerCoreSecond: round(1000 / measured.whole.cpuMs), streamCpuShare: round((roundsPerSecond * roundCpuMs) / 1000) };
});
for (const row of rows) console.log(JSON.stringify(row));

await writeResult(
  'face-detector-wasm',
  {
    benchmark: "BlazeFace (tfjs wasm) per detection pass at a 720p stream's input sizes: SIMD, no SIMD, threads asked for",
    date: new Date().toISOString(),
    node: process.version,
    method: `mean over ${PASSES} passes after 3 warm-up passes, one process per mode; CPU = user + system of that process; a round = the whole frame + ${TILES_PER_ROUND} tiles; per stream = face-blur defaults at 30 fps (${ROUNDS_PER_SECOND} rounds/s at most, fewer when a round's CPU time exceeds 1/${ROUNDS_PER_SECOND} s)`,
    loadAverage: { before: loadBefore, after: loadavg().map(round), cores: cpus().length },
    rows,
  },
  {
    title: 'BlazeFace CPU ms per pass (tfjs wasm)',
    unit: 'CPU ms per pass',
    groups: rows.filter((row) => 'whole' in row && row.whole && row.tile).map((row) => ({ label: row.mode, values: { 'whole frame': row.whole!.cpuMs, tile: row.tile!.cpuMs } })),
  },
);
