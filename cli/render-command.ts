import { existsSync, readFileSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LivefxConfig } from '../core/config.js';
import type { CliCommand, CliContext, CliInvocation } from './cli-command.js';
import { readConfig } from './cli-config.js';
import { commandFromHelp } from './help-options.js';
import { CliError, InterruptedError, UsageError } from './cli-errors.js';
import { FileRender } from './file-render.js';
import { ffprobeBeside, MediaProbe, MediaProbeError, type MediaInfo, type StillImageInfo, type VideoInfo } from '../core/media/media-probe.js';
import { JobCancelledError, ProcessRunner } from '../core/process/process-runner.js';
import { buildRenderChain, validateSpec, type SpecSource } from './render-chain.js';
import { lookUpPreset } from './preset-lookup.js';
import { ProgressBar } from './progress-bar.js';
import { resolveTransformBackend, TRANSFORM_BACKEND_SETTINGS, type TransformBackend, type TransformBackendSetting } from '../transforms/transform-backend.js';
import { WasmKernels } from '../transforms/wasm/wasm-kernels.js';
import { WebgpuDevice } from '../transforms/webgpu/webgpu-device.js';

const HELP = `usage: livefx render <input> --preset <spec.json> -o <output> [--backend <name>] [--overwrite] [--quiet]

Applies a transform chain to a file, offline, exactly as a live stream would get it.

  <input>                 a PNG or JPEG image (written back in the same format) or a video (written as MP4:
                          H.264 CRF 18, same frame rate and frame count, audio copied when MP4 can hold it)
  -p, --preset <spec>     a chain spec JSON file ({ "transforms": [ … ] }, as PUT /v1/streams/:id/transforms takes);
                          its LUT and image files are looked up beside it, then in $LIVEFX_DATA_DIR/luts and /images;
                          a "file" that is a path (absolute, or relative to the current folder) is used as it is.
                          Not a file: the name of a stored preset, fetched from $LIVEFX_URL when set, else read
                          from $LIVEFX_DATA_DIR/livefx.db
  -o, --output <file>     where to write (.png/.jpg for images, .mp4 for videos); written under a temporary name,
                          renamed when complete
      --backend <name>    where the chain's kernels run: auto (WebAssembly SIMD where the runtime has it; a hardware
                          GPU when there is one), wasm, js (the TypeScript reference) or webgpu (WGSL on the GPU; a
                          software adapter where there is no GPU); default $LIVEFX_TRANSFORM_BACKEND, as for live streams
      --overwrite         replace <output> if it exists
  -q, --quiet             no progress or summary on stderr
  -h, --help              this text

Environment: LIVEFX_DATA_DIR (default ./data), LIVEFX_FFMPEG (default ffmpeg; ffprobe is taken from beside it),
LIVEFX_URL (a running server, for presets), LIVEFX_TRANSFORM_BACKEND (default auto).
Exit codes: 0 done, 1 failed (the message says why), 2 wrong command line, 130 interrupted (Ctrl-C).`;

/** Audio codecs the MP4 muxer takes as they are; anything else is re-encoded to AAC. */
const MP4_AUDIO_CODECS = new Set(['aac', 'mp3', 'mp2', 'ac3', 'eac3', 'opus', 'alac']);
const OUTPUT_EXTENSIONS: Record<'png' | 'jpeg' | 'video', string[]> = { png: ['.png'], jpeg: ['.jpg', '.jpeg'], video: ['.mp4'] };
/** Odd sizes are padded to even for I420 by repeating the last column/row, so no dark edge leaks into the chain. */
const PAD_TO_EVEN = 'pad=ceil(iw/2)*2:ceil(ih/2)*2';

export const renderCommand: CliCommand = commandFromHelp(HELP, runRender, {
  summary: 'apply a chain spec to an image or a video file (offline, same chain as live)',
  positionals: { min: 1, max: 1, names: ['input'] },
});

async function runRender(invocation: CliInvocation, context: CliContext): Promise<number> {
  const { values } = invocation;
  if (typeof values.preset !== 'string') throw new UsageError('--preset <spec.json> is required', 'render');
  if (typeof values.output !== 'string') throw new UsageError('-o <output> is required', 'render');
  const quiet = values.quiet === true;
  const note = (text: string): void => {
    if (!quiet) context.stderr.write(`${text}\n`);
  };
  const config = readConfig(context.env);
  const backend = renderBackend(values.backend, config.LIVEFX_TRANSFORM_BACKEND);
  const input = path.resolve(invocation.positionals[0]!);
  const output = path.resolve(values.output);
  checkInput(input);
  checkOutput(output, input, values.overwrite === true);

  const { spec: raw, source } = await loadSpec(values.preset, config);
  const validated = validateSpec(raw, source);
  // Warnings are shown even with --quiet: they are about what the output will look like.
  if (validated.labelAdded) context.stderr.write('note: the chain has a stylization and no label, so the "AI-processed" label was added (top-right), as on a live stream\n');
  if (validated.labelOff) context.stderr.write('warning: the "AI-processed" label is switched off while a stylization is on\n');

  const media = await describeInput(ffprobeBeside(config.LIVEFX_FFMPEG), input, context.signal);
  const kind = media.kind === 'image' ? media.format : 'video';
  const extension = path.extname(output).toLowerCase();
  if (!OUTPUT_EXTENSIONS[kind].includes(extension)) {
    const what = media.kind === 'image' ? `a ${media.format === 'png' ? 'PNG' : 'JPEG'} image` : 'a video';
    throw new CliError(`${path.basename(input)} is ${what}, so the output is ${kind === 'video' ? 'MP4' : kind.toUpperCase()}: name it ${OUTPUT_EXTENSIONS[kind].join(' or ')} (not "${extension || path.basename(output)}")`);
  }

  const chain = buildRenderChain(validated.spec, source, config.LIVEFX_DATA_DIR, backend);
  // The wasm kernels work in place on frames in their memory; elsewhere each kernel would copy the frame in and out.
  const kernels = backend === 'wasm' ? WasmKernels.forThisThread() : undefined;
  const partial = path.join(path.dirname(output), `.${path.basename(output)}.livefx-${process.pid}.partial`);
  const plan = media.kind === 'image' ? imagePlan(media, input, partial) : videoPlan(media, input, partial, note);
  const progress = media.kind === 'video' && !quiet ? new ProgressBar({ stream: context.stderr, label: 'render', total: media.totalFrames, counted: { unit: 'frames', rateUnit: 'fps' } }) : undefined;
  const render = new FileRender({
    ffmpegPath: config.LIVEFX_FFMPEG,
    decoderArgs: plan.decoderArgs,
    encoderArgs: plan.encoderArgs,
    chain,
    frameIntervalMs: plan.frameIntervalMs,
    signal: context.signal,
    ...(kernels ? { allocateFrame: (width: number, height: number) => kernels.allocateFrame(width, height) } : {}),
    ...(progress ? { onFrame: (done: number) => progress.update(done) } : {}),
  });
  try {
    const result = await render.run();
    const gpuFailure = backend === 'webgpu' ? WebgpuDevice.forThisThread().failure : undefined;
    if (gpuFailure) throw new CliError(`the GPU failed during the render (${gpuFailure}); try --backend wasm`);
    progress?.finish(result.frames);
    await rename(partial, output);
    const size = media.kind === 'image' ? `${media.width}x${media.height}` : `${result.width}x${result.height}`;
    const where = backend === 'webgpu' ? `webgpu: ${WebgpuDevice.forThisThread().adapter}` : backend;
    note(`wrote ${output}: ${result.frames} frame${result.frames === 1 ? '' : 's'} ${size}, chain ${(result.chainMs / result.frames).toFixed(2)} ms/frame on ${where}`);
    return 0;
  } catch (error) {
    progress?.abandon();
    throw error;
  } finally {
    chain.close();
    WebgpuDevice.closeThisThread();
    await rm(partial, { force: true });
  }
}

/** --backend, else LIVEFX_TRANSFORM_BACKEND, resolved as a live stream's pipeline resolves it; an explicit wasm that cannot run fails. */
function renderBackend(option: unknown, setting: TransformBackendSetting): TransformBackend {
  let chosen = setting;
  if (option !== undefined) {
    if (!TRANSFORM_BACKEND_SETTINGS.includes(option as TransformBackendSetting)) throw new UsageError(`--backend must be one of ${TRANSFORM_BACKEND_SETTINGS.join(', ')} (not "${String(option)}")`, 'render');
    chosen = option as TransformBackendSetting;
  }
  try {
    return resolveTransformBackend(chosen);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

function checkInput(input: string): void {
  if (!existsSync(input)) throw new CliError(`input ${input} not found`);
  if (!statSync(input).isFile()) throw new CliError(`input ${input} is not a file`);
}

function checkOutput(output: string, input: string, overwrite: boolean): void {
  const folder = path.dirname(output);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new CliError(`output folder ${folder} does not exist`);
  if (output === input) throw new CliError('the output would replace the input: choose another -o');
  if (existsSync(output)) {
    if (!overwrite) throw new CliError(`output ${output} exists: pass --overwrite to replace it`);
    if (statSync(output).isDirectory()) throw new CliError(`output ${output} is a folder`);
  }
}

/** Reads the spec a --preset argument names: a JSON file, or else a preset stored by the server. */
async function loadSpec(argument: string, config: LivefxConfig): Promise<{ spec: unknown; source: SpecSource }> {
  const file = path.resolve(argument);
  if (!existsSync(file)) {
    // What looks like a path is a missing file; a bare name may be a stored preset.
    if (argument.includes('/') || argument.includes(path.sep) || argument.toLowerCase().endsWith('.json')) throw new CliError(`spec file ${file} not found`);
    return lookUpPreset(argument, config);
  }
  const source: SpecSource = { description: `spec ${argument}`, folder: path.dirname(file) };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`spec file ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return { spec: JSON.parse(text) as unknown, source };
  } catch (error) {
    throw new CliError(`spec file ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

interface RenderPlan {
  decoderArgs: string[];
  encoderArgs: (width: number, height: number) => string[];
  frameIntervalMs: number;
}

const QUIET_FFMPEG = ['-hide_banner', '-nostats', '-loglevel', 'error', '-nostdin'];

function rawInput(width: number, height: number, rate: string): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-framerate', rate, '-i', 'pipe:0'];
}

function imagePlan(media: StillImageInfo, input: string, partial: string): RenderPlan {
  const { width, height } = media;
  const odd = width % 2 === 1 || height % 2 === 1;
  const padding = `${PAD_TO_EVEN},fillborders=right=${width % 2}:bottom=${height % 2}:mode=smear`;
  const decoderArgs = [...QUIET_FFMPEG, '-i', input, '-map', '0:v:0', '-frames:v', '1', ...(odd ? ['-vf', padding] : []), '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', 'pipe:1'];
  const crop = `crop=${width}:${height}:0:0`;
  const gray = media.pixelFormat.startsWith('gray');
  const encoderArgs = (paddedWidth: number, paddedHeight: number): string[] => {
    const args = [...QUIET_FFMPEG, ...rawInput(paddedWidth, paddedHeight, '1')];
    if (media.format === 'jpeg') {
      args.push('-vf', `${crop}:exact=1`, '-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', gray ? 'gray' : 'yuvj420p');
    } else if (media.hasAlpha) {
      // The chain works on I420, which has no alpha: the input's own alpha plane is put back.
      args.push('-i', input, '-filter_complex', `[0:v]format=rgba,${crop}[picture];[1:v]format=rgba,alphaextract[alpha];[picture][alpha]alphamerge[out]`, '-map', '[out]', '-c:v', 'png', '-pix_fmt', 'rgba');
    } else {
      args.push('-vf', `format=${gray ? 'gray' : 'rgb24'},${crop}`, '-c:v', 'png', '-pix_fmt', gray ? 'gray' : 'rgb24');
    }
    args.push('-frames:v', '1', '-f', 'image2pipe', partial);
    return args;
  };
  return { decoderArgs, encoderArgs, frameIntervalMs: 1000 / 30 };
}

function videoPlan(media: VideoInfo, input: string, partial: string, note: (text: string) => void): RenderPlan {
  const odd = media.width % 2 === 1 || media.height % 2 === 1;
  if (odd) note(`note: H.264 (yuv420p) needs an even size, so the ${media.width}x${media.height} video is written as ${media.width + (media.width % 2)}x${media.height + (media.height % 2)} (last column/row repeated)`);
  const padding = `${PAD_TO_EVEN},fillborders=right=${media.width % 2}:bottom=${media.height % 2}:mode=smear`;
  const decoderArgs = [...QUIET_FFMPEG, '-i', input, '-map', '0:v:0', ...(odd ? ['-vf', padding] : []), '-pix_fmt', 'yuv420p', '-fps_mode', 'passthrough', '-f', 'yuv4mpegpipe', 'pipe:1'];
  const rate = `${media.frameRate.num}/${media.frameRate.den}`;
  const audio = media.audio;
  const copyAudio = audio !== undefined && MP4_AUDIO_CODECS.has(audio.codec);
  if (audio && !copyAudio) note(`note: MP4 cannot hold ${audio.codec} audio, so it is re-encoded to AAC (192 kbit/s)`);
  // The raw frames start at 0; a video that starts after its audio is delayed by the same amount.
  const videoDelayS = audio ? Math.max(0, media.videoStartS - audio.startS) : 0;
  const encoderArgs = (width: number, height: number): string[] => {
    const args = [...QUIET_FFMPEG, ...(videoDelayS > 0.001 ? ['-itsoffset', videoDelayS.toFixed(6)] : []), ...rawInput(width, height, rate)];
    if (audio) args.push('-i', input);
    args.push('-map', '0:v:0');
    if (audio) args.push('-map', '1:a:0', ...(copyAudio ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '192k']));
    args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-color_range', 'tv');
    if (media.color.space) args.push('-colorspace', media.color.space);
    if (media.color.primaries) args.push('-color_primaries', media.color.primaries);
    if (media.color.transfer) args.push('-color_trc', media.color.transfer);
    args.push('-movflags', '+faststart', '-f', 'mp4', partial);
    return args;
  };
  return { decoderArgs, encoderArgs, frameIntervalMs: (1000 * media.frameRate.den) / media.frameRate.num };
}

/** What the input holds, or a CliError saying why it cannot be rendered. */
async function describeInput(ffprobe: string, input: string, signal: AbortSignal): Promise<MediaInfo> {
  try {
    return await new MediaProbe({ runner: new ProcessRunner({ ffprobe, label: 'render' }) }).describe(input, signal);
  } catch (error) {
    if (error instanceof JobCancelledError) throw new InterruptedError();
    if (!(error instanceof MediaProbeError)) throw error;
    if (error.startFailed) throw new CliError(`could not run ffprobe (${ffprobe}, taken from beside LIVEFX_FFMPEG): ${error.message}`);
    if (error.reasons.length > 0) throw new CliError(`${input} is not a readable image or video (ffprobe: ${error.reasons.at(-1)})`);
    if (error.message.startsWith('ffprobe reported no format')) throw new CliError(`${input} is not a readable image or video (ffprobe reported no format)`);
    throw new CliError(error.message);
  }
}
