import { spawn, type ChildProcess } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import { Y4mReader } from '../core/media/y4m-reader.js';
import { diesWithParent } from '../core/process/dies-with-parent.js';
import { Chain, type ChainEntry } from '../transforms/chain.js';
import type { ChainSpec } from '../transforms/chain-spec.js';
import { I420Frame, i420ByteLength } from '../transforms/frame.js';
import { createTransform } from '../transforms/transform-factory.js';

// The look pass of one shot, off the server's event loop: ffmpeg decodes the shot's pictures to y4m,
// the live transform chain runs on every frame here, and a second ffmpeg encodes the result. Both
// children are started from this thread, so they die with it (PR_SET_PDEATHSIG follows the thread).

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
}

export type LooksWorkerMessage = { type: 'frames'; frames: number } | { type: 'done'; frames: number } | { type: 'error'; message: string };

const data = workerData as LooksWorkerData;
const port = parentPort!;
const children: ChildProcess[] = [];

port.on('message', (message: { type: 'abort' }) => {
  if (message.type === 'abort') for (const child of children) child.kill('SIGKILL');
});

function start(args: string[], stdin: 'pipe' | 'ignore'): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const [program, argv] = diesWithParent(data.ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args]);
  const child = spawn(program, argv, { stdio: [stdin, stdin === 'pipe' ? 'ignore' : 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code));
  });
  return { child, stderr: () => stderr.trim().split('\n').slice(-3).join(' | '), exited };
}

async function run(): Promise<number> {
  const entries: ChainEntry[] = data.spec.transforms.filter((entry) => entry.enabled).map((entry) => ({ transform: createTransform(entry, { lutDir: data.lutDir, imageDir: data.imageDir }), enabled: true }));
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
      frame = new I420Frame(data.width, data.height);
      byBuffer.set(frame.buffer, frame);
    }
    return frame.buffer;
  };
  const reader = new Y4mReader(frameBytes, acquire, (buffer) => ready.push(byBuffer.get(buffer)!));
  const clock = { frameIndex: 0, frameIntervalMs: 1000 / data.fps };
  const encoder = start(data.encoderArgs, 'pipe');
  const decoder = start(data.decoderArgs, 'ignore');
  let encoderFailed = false;
  void encoder.exited.then((code) => {
    if (code !== 0) {
      encoderFailed = true;
      decoder.child.kill('SIGKILL');
    }
  });
  const stdin = encoder.child.stdin!;
  stdin.on('error', () => undefined);
  let frames = 0;
  for await (const chunk of decoder.child.stdout as AsyncIterable<Buffer>) {
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
  chain.close();
  const decoderCode = await decoder.exited;
  if (encoderFailed || decoderCode !== 0) {
    encoder.child.kill('SIGKILL');
    decoder.child.kill('SIGKILL');
    const who = encoderFailed ? `encoder: ${encoder.stderr()}` : `decoder exited with ${decoderCode}: ${decoder.stderr()}`;
    throw new Error(`look pass failed (${who})`);
  }
  stdin.end();
  const encoderCode = await encoder.exited;
  if (encoderCode !== 0) throw new Error(`look pass encoder exited with ${encoderCode}: ${encoder.stderr()}`);
  if (frames === 0) throw new Error('look pass: the decoder produced no frames');
  return frames;
}

run().then(
  (frames) => port.postMessage({ type: 'done', frames } satisfies LooksWorkerMessage),
  (error: unknown) => port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies LooksWorkerMessage),
);
