import { parentPort } from 'node:worker_threads';
import type { PipedProcess } from '../core/process/piped-process.js';
import { ProcessRunner } from '../core/process/process-runner.js';
import { FACE_FLOATS } from '../transforms/face-detection/detector-protocol.js';
import { FaceDetector } from '../transforms/face-detection/face-detector.js';
import type { FaceBox, FaceSample } from './camera-path.js';
import { onRunMessage, WorkerChildren } from './worker-children.js';

// The face samples of follow-face shots, off the server's event loop: ffmpeg decodes a shot's
// source at a few frames per second straight to the detector's RGB size, and the live face-blur
// detector (BlazeFace, its own thread) searches each picture whole. The detector is loaded once per
// thread and kept for the thread's next shots (the pool keeps the thread warm). The ffmpeg child is
// killed on the parent's abort message (WorkerChildren) and dies with this thread besides.

export interface FaceSamplerWorkerData {
  ffmpeg: string;
  file: string;
  /** Source seconds to sample: from `in`, `seconds` long, `sampleFps` pictures a second. */
  in: number;
  seconds: number;
  sampleFps: number;
  /** The RGB size the detector gets (short side 256, BlazeFace's input). */
  width: number;
  height: number;
  /** Faces scoring below this, or smaller than minFaceHeight of the picture, are left out. */
  minConfidence: number;
  minFaceHeight: number;
}

export type FaceSamplerMessage = { type: 'sampled'; samples: number } | { type: 'done'; samples: FaceSample[] } | { type: 'error'; message: string };

const port = parentPort!;
/** The run in progress (one at a time). */
let data: FaceSamplerWorkerData;
let decoder: PipedProcess | undefined;
let detector: FaceDetector | undefined;

const children = new WorkerChildren(port, () => detector?.close());

async function run(): Promise<FaceSample[]> {
  const runner = new ProcessRunner({ ffmpeg: data.ffmpeg, label: 'render' });
  // Loading BlazeFace and warming it up is the costly part of a short shot: once per thread.
  if (detector && !detector.ready) {
    detector.close();
    detector = undefined;
  }
  detector ??= new FaceDetector({ minConfidence: data.minConfidence, maxRestarts: 0 });
  await detector.whenReady();
  if (!detector.ready) throw new Error(`the face detector is not available (${detector.lastError || detector.state})`);
  const frameBytes = data.width * data.height * 3;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-ss', data.in.toFixed(6), '-t', data.seconds.toFixed(6), '-i', data.file];
  args.push('-vf', `setpts=PTS-STARTPTS,fps=${data.sampleFps},scale=${data.width}:${data.height}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  decoder = children.add(runner.open({ role: 'face-sampler', command: runner.ffmpeg, args, stdin: 'ignore' }));
  const samples: FaceSample[] = [];
  let filled = 0;
  // Bytes are written straight into the detector's shared image; the next picture waits (the pipe pauses) while one is searched.
  for await (const chunk of decoder.process.stdout as AsyncIterable<Buffer>) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, frameBytes - filled);
      detector.image.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled < frameBytes) continue;
      filled = 0;
      samples.push({ t: samples.length / data.sampleFps, faces: await detect(samples.length) });
      port.postMessage({ type: 'sampled', samples: samples.length } satisfies FaceSamplerMessage);
    }
  }
  const exit = await decoder.exited;
  if (decoder.startError || exit.code !== 0) throw new Error(`the face sampler's decoder failed: ${decoder.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${exit.code}`}`);
  return samples;
}

async function detect(index: number): Promise<FaceBox[]> {
  const faces = detector!;
  if (!faces.submit(data.width, data.height, index)) throw new Error(`the face detector refused picture ${index} (${faces.state})`);
  await faces.waitForResult();
  if (!faces.takeResult() || faces.resultCount < 0) throw new Error(`face detection failed on picture ${index}: ${faces.lastError || faces.state}`);
  const found: FaceBox[] = [];
  for (let face = 0; face < faces.resultCount; face++) {
    const at = face * FACE_FLOATS;
    const box = { x: faces.faces[at]!, y: faces.faces[at + 1]!, width: faces.faces[at + 2]!, height: faces.faces[at + 3]!, score: faces.faces[at + 4]! };
    if (box.score >= data.minConfidence && box.height >= data.minFaceHeight) found.push(box);
  }
  return found;
}

onRunMessage<FaceSamplerWorkerData>(port, (runData) => {
  data = runData;
  run().then(
    (samples) => port.postMessage({ type: 'done', samples } satisfies FaceSamplerMessage),
    (error: unknown) => {
      // A failed run's thread is ended, not kept: its detector goes with it.
      detector?.close();
      detector = undefined;
      port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies FaceSamplerMessage);
    },
  );
});
