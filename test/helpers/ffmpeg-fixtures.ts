import { spawn, spawnSync } from 'node:child_process';

/** Runs a command to its end; rejects with its stderr when it fails. */
export function runCommand(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr}`))));
  });
}

/** Runs ffmpeg to make a fixture; rejects with its stderr when it fails. */
export function runFfmpeg(args: string[]): Promise<void> {
  return runCommand('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args]);
}

/** ffmpeg decodes `data` (of the given input format) and gives an MD5 per decoded frame, plus its errors. */
export function decodeChecksums(format: 'h264' | 'ivf', data: Buffer): { checksums: string[]; errors: string } {
  const result = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', format, '-i', 'pipe:0', '-f', 'framemd5', 'pipe:1'], { input: data, maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  const checksums = result.stdout
    .toString()
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(',').pop()!.trim());
  return { checksums, errors: result.stderr.toString().trim() };
}

/** One frame of ffmpeg's testsrc2 as raw I420. */
export function testPatternFrame(width: number, height: number): Buffer {
  const result = spawnSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], { maxBuffer: 1 << 27 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
}

/** Runs one raw I420 frame through an ffmpeg filter graph and returns the raw I420 result. */
export function ffmpegFilter(frame: Buffer, width: number, height: number, filter: string): Buffer {
  const result = spawnSync(
    'ffmpeg',
    ['-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-i', 'pipe:0', '-vf', filter, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'],
    { input: frame, maxBuffer: 1 << 27 },
  );
  if (result.status !== 0) throw new Error(result.stderr.toString());
  return result.stdout;
}

/** Peak signal-to-noise ratio of two 8-bit images, in dB (Infinity when identical). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  let squared = 0;
  for (let index = 0; index < a.length; index++) squared += (a[index]! - b[index]!) ** 2;
  return squared === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / (squared / a.length));
}

/** The frame of a video file at `atS`, scaled to width×height, as raw RGB24 (three bytes a pixel, rows top down). */
export function frameRgb(file: string, atS: number, width: number, height: number): Buffer {
  const result = spawnSync('ffmpeg', ['-loglevel', 'error', '-ss', atS.toFixed(3), '-i', file, '-frames:v', '1', '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 27 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  if (result.stdout.length !== width * height * 3) throw new Error(`${file} at ${atS} s: got ${result.stdout.length} bytes of RGB, expected ${width * height * 3}`);
  return result.stdout;
}
