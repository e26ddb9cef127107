import { parentPort } from 'node:worker_threads';
import { Y4mReader } from '../core/media/y4m-reader.js';
import type { PipedProcess } from '../core/process/piped-process.js';
import { ProcessRunner } from '../core/process/process-runner.js';
import { Chain, type ChainEntry } from '../transforms/chain.js';
import type { ChainSpec } from '../transforms/chain-spec.js';
import { I420Frame, i420ByteLength } from '../transforms/frame.js';
import { createTransform } from '../transforms/transform-factory.js';
import { resolveTransformBackend, type TransformBackend, type TransformBackendSetting } from '../transforms/transform-backend.js';
import { WasmKernels } from '../transforms/wasm/wasm-kernels.js';
import { onRunMessage, WorkerChildren } from './worker-children.js';

// The look pass of one shot, off the server's event loop: ffmpeg decodes the shot's pictures to y4m,
// the live transform chain runs on every frame here, and a second ffmpeg encodes the result. Both
// children are started from this thread, killed on the parent's abort message (WorkerChildren) and
// with the thread besides (PR_SET_PDEATHSIG follows the thread).

export interface LooksWorkerData {
  ffmpeg: string;
  decoderArgs: string[];
  encoderArgs: string[];
  width: number;
  height: number;
  fps: number;
  spec: ChainSpec;
  lutDir: string;
  imageDir: string;
  /** LIVEFX_TRANSFORM_BACKEND, resolved here as a live stream's pipeline worker resolves it. */
  transformBackend: TransformBackendSetting;
}

/** A finished pass: its frames, and the backend each transform of the chain ran on. */
export interface LooksPassResult {
  frames: number;
  backends: TransformBackend[];
}

export type LooksWorkerMessage = { type: 'frames'; frames: number } | ({ type: 'done' } & LooksPassResult) | { type: 'error'; message: string };

const port = parentPort!;
const children = new WorkerChildren(port);
/** The run in progress (a thread serves one at a time, and is kept warm between them). */
let data: LooksWorkerData;
let runner: ProcessRunner;
/** The run's frames in wasm memory: given back when it ends, or a warm thread's memory (never shrunk) grows run by run. */
const inWasmMemory: I420Frame[] = [];

function releaseFrames(): void {
  if (inWasmMemory.length === 0) return;
  const kernels = WasmKernels.forThisThread();
  for (const frame of inWasmMemory.splice(0)) kernels.releaseFrame(frame);
}

function start(role: string, args: string[], stdin: 'pipe' | 'ignore'): { child: PipedProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = children.add(runner.open({ role, command: runner.ffmpeg, args: ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], stdin }));
  // The encoder writes its file; anything it might print on stdout is drained, never left to block it.
  if (stdin === 'pipe') child.process.stdout.resume();
  const exited = child.exited.then((exit) => (child.startError ? -1 : exit.code));
  return { child, stderr: () => child.stderr.trim().split('\n').slice(-3).join(' | '), exited };
}

/** As the pipeline worker: an explicit wasm this runtime cannot run falls back to the reference kernels. */
function chooseBackend(): TransformBackend {
  try {
    return resolveTransformBackend(data.transformBackend);
  } catch {
    return 'js';
  }
}

async function run(): Promise<LooksPassResult> {
  const backend = chooseBackend();
  // The wasm kernels work in place on frames in their memory (as in the pipeline worker).
  const kernels = backend === 'wasm' ? WasmKernels.forThisThread() : undefined;
  const entries: ChainEntry[] = data.spec.transforms
    .filter((entry) => entry.enabled)
    .map((entry) => ({ transform: createTransform(entry, { lutDir: data.lutDir, imageDir: data.imageDir }, undefined, backend), enabled: true }));
  // Offline every frame must be exact: the chain never degrades.
  const chain = new Chain(undefined, { adaptive: false });
  chain.replace(entries);
  const frameBytes = i420ByteLength(data.width, data.height);
  const free: I420Frame[] = [];
  const ready: I420Frame[] = [];
  const byBuffer = new Map<Buffer, I420Frame>();
  const acquire = (): Buffer => {
    let frame = free.pop();
    if (!frame) {
      frame = kernels ? kernels.allocateFrame(data.width, data.height) : new I420Frame(data.width, data.height);
      if (kernels) inWasmMemory.push(frame);
      byBuffer.set(frame.buffer, frame);
    }
    return frame.buffer;
  };
  const reader = new Y4mReader(frameBytes, acquire, (buffer) => ready.push(byBuffer.get(buffer)!));
  const clock = { frameIndex: 0, frameIntervalMs: 1000 / data.fps };
  const encoder = start('encoder', data.encoderArgs, 'pipe');
  let decoder: ReturnType<typeof start>;
  try {
    decoder = start('decoder', data.decoderArgs, 'ignore');
  } catch (error) {
    void encoder.child.close();
    throw error;
  }
  let encoderFailed = false;
  void encoder.exited.then((code) => {
    if (code !== 0) {
      encoderFailed = true;
      void decoder.child.close();
    }
  });
  const stdin = encoder.child.process.stdin!;
  stdin.on('error', () => undefined);
  let frames = 0;
  for await (const chunk of decoder.child.process.stdout as AsyncIterable<Buffer>) {
    reader.push(chunk);
    while (ready.length > 0) {
      const frame = ready.shift()!;
      clock.frameIndex = frames;
      await chain.prepare(frame, clock);
      chain.apply(frame, clock);
      frames++;
      // The buffer goes back to the pool once the encoder's pipe has taken it.
      await new Promise<void>((resolve) => stdin.write(frame.buffer, () => resolve()));
      free.push(frame);
      if (frames % 15 === 0) port.postMessage({ type: 'frames', frames } satisfies LooksWorkerMessage);
      if (encoderFailed) break;
    }
    if (encoderFailed) break;
  }
  const backends = chain.stats().transforms.map((timing) => timing.backend ?? 'js');
  chain.close();
  const decoderCode = await decoder.exited;
  if (encoderFailed || decoderCode !== 0) {
    void encoder.child.close();
    void decoder.child.close();
    const who = encoderFailed ? `encoder: ${encoder.stderr()}` : `decoder exited with ${decoderCode}: ${decoder.stderr()}`;
    throw new Error(`look pass failed (${who})`);
  }
  stdin.end();
  const encoderCode = await encoder.exited;
  if (encoderCode !== 0) throw new Error(`look pass encoder exited with ${encoderCode}: ${encoder.stderr()}`);
  if (frames === 0) throw new Error('look pass: the decoder produced no frames');
  return { frames, backends };
}

onRunMessage<LooksWorkerData>(port, (runData) => {
  data = runData;
  runner = new ProcessRunner({ ffmpeg: data.ffmpeg, label: 'render' });
  run().finally(releaseFrames).then(
    (result) => port.postMessage({ type: 'done', ...result } satisfies LooksWorkerMessage),
    (error: unknown) => port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies LooksWorkerMessage),
  );
});
