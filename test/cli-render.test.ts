import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { ADMIN_TOKEN, projectRoot, startServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { runFfmpeg } from './helpers/ffmpeg-fixtures.js';
import { runBuiltCli, type CliRun, type CliRunOptions } from './helpers/cli-run.js';

let dir: string;

/** Runs the built CLI as a user would, in the test folder; a run that hangs is killed after 40 s. */
function livefx(args: string[], options: Partial<CliRunOptions> = {}): Promise<CliRun> {
  return runBuiltCli(args, { ...options, cwd: options.cwd ?? dir, env: { LIVEFX_DATA_DIR: path.join(dir, 'data'), ...options.env } });
}

const file = (name: string): string => path.join(dir, name);

function ffprobe(target: string, entries: string): Record<string, string>[] {
  const result = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', entries, '-of', 'json', target], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  const parsed = JSON.parse(result.stdout) as { streams?: Record<string, string>[]; format?: Record<string, string> };
  return [...(parsed.streams ?? []), ...(parsed.format ? [parsed.format] : [])];
}

/** Mean of the decoded luma (gray) over every frame. */
function meanLuma(target: string): number {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-i', target, '-vf', 'format=gray', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(result.stderr.toString());
  let sum = 0;
  for (const value of result.stdout) sum += value;
  return sum / result.stdout.length;
}

/** MD5 of what ffmpeg outputs for `args` on `target` (e.g. the audio packets as stored, or the alpha plane). */
function md5(target: string, args: string[]): string {
  const result = spawnSync('ffmpeg', ['-v', 'error', '-i', target, ...args, '-f', 'md5', 'pipe:1'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout.trim();
}

/** ffmpeg processes whose command line mentions the test folder: none may outlive a render. */
async function ffmpegProcessesInTestDir(): Promise<{ pid: number; args: string }[]> {
  const found: { pid: number; args: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = commandLine.split('\0');
    if (path.basename(args[0] ?? '') === 'ffmpeg' && commandLine.includes(dir)) found.push({ pid: Number(entry), args: args.join(' ') });
  }
  return found;
}

const partialFiles = async (): Promise<string[]> => (await readdir(dir, { recursive: true })).filter((name) => name.endsWith('.partial'));

beforeAll(async () => {
  if (!existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli is missing: run `npx tsc -p tsconfig.json` first');
  dir = await mkdtemp(path.join(tmpdir(), 'livefx-cli-'));
  await mkdir(file('data'));
  await mkdir(file('specs'));
  await Promise.all([
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', file('clip.mp4')]),
    // 321x241 with a half-transparent strip on the left: odd sizes and alpha must both survive.
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-vf', "scale=321:241,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,100),128,255)'", file('odd.png')]),
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-q:v', '3', file('photo.jpg')]),
    runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file('long.mp4')]),
  ]);
  await writeFile(file('dark.json'), JSON.stringify({ transforms: [{ name: 'color', params: { brightness: -0.4 } }] }));
  // A LUT that maps every colour to near-black, kept beside the spec that uses it.
  const rows = ['LUT_3D_SIZE 2', ...Array.from({ length: 8 }, () => '0.05 0.05 0.05')];
  await writeFile(file('specs/darken.cube'), `${rows.join('\n')}\n`);
  await writeFile(file('specs/graded.json'), JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: 'darken.cube' } }] }));
  await writeFile(file('pixelate.json'), JSON.stringify({ transforms: [{ name: 'pixelate', params: { blockSize: 16 } }] }));
  await writeFile(file('notes.txt'), 'not a picture\n');
});

afterAll(async () => {
  if (!dir) return;
  // Only after a failed test: no ffmpeg of ours may outlive the suite.
  for (const leftover of await ffmpegProcessesInTestDir()) process.kill(leftover.pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('livefx render', () => {
  it('renders a video to MP4 with the same frames, the audio copied, darker, with progress lines', async () => {
    const run = await livefx(['render', 'clip.mp4', '--preset', 'dark.json', '-o', 'dark.mp4']);
    expect(run.stderr).toMatch(/wrote .*dark\.mp4: 50 frames 320x240/);
    expect(run.code).toBe(0);
    const [video, audio, format] = ffprobe(file('dark.mp4'), 'stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_packets:format=format_name');
    expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 320, height: 240, r_frame_rate: '25/1', nb_read_packets: '50' });
    expect(format!.format_name).toContain('mp4');
    const [, sourceAudio] = ffprobe(file('clip.mp4'), 'stream=codec_name,nb_read_packets');
    expect(audio).toMatchObject({ codec_name: 'aac', nb_read_packets: sourceAudio!.nb_read_packets });
    // Copied, not re-encoded: the audio packets are the same bytes.
    expect(md5(file('dark.mp4'), ['-map', '0:a', '-c', 'copy'])).toBe(md5(file('clip.mp4'), ['-map', '0:a', '-c', 'copy']));
    expect(meanLuma(file('clip.mp4')) - meanLuma(file('dark.mp4'))).toBeGreaterThan(50);
    // Not a terminal: a plain line about every 10 %, then the total.
    const lines = run.stderr.split('\n').filter((line) => /^render +\d+% +\d+\/50 frames +[\d.]+ fps/.test(line));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.at(-1)).toMatch(/100% +50\/50 frames/);
    expect(await partialFiles()).toEqual([]);
  });

  it('keeps an odd-sized PNG as a PNG of the same size, with its alpha, darker', async () => {
    const run = await livefx(['render', 'odd.png', '-p', 'dark.json', '-o', 'odd-dark.png']);
    expect(run.code, run.stderr).toBe(0);
    const [image, format] = ffprobe(file('odd-dark.png'), 'stream=codec_name,width,height,pix_fmt:format=format_name');
    expect(image).toMatchObject({ codec_name: 'png', width: 321, height: 241, pix_fmt: 'rgba' });
    expect(format!.format_name).toBe('png_pipe');
    const alpha = ['-vf', 'alphaextract', '-pix_fmt', 'gray'];
    expect(md5(file('odd-dark.png'), alpha)).toBe(md5(file('odd.png'), alpha));
    expect(meanLuma(file('odd.png')) - meanLuma(file('odd-dark.png'))).toBeGreaterThan(30);
    // Still images get no progress bar.
    expect(run.stderr).not.toMatch(/^render /m);
  });

  it('keeps a JPEG a JPEG, and refuses to change the format', async () => {
    const run = await livefx(['render', 'photo.jpg', '-p', 'dark.json', '-o', 'photo-dark.jpg']);
    expect(run.code, run.stderr).toBe(0);
    const [image] = ffprobe(file('photo-dark.jpg'), 'stream=codec_name,width,height');
    expect(image).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 240 });
    expect(meanLuma(file('photo.jpg')) - meanLuma(file('photo-dark.jpg'))).toBeGreaterThan(50);
    const refused = await livefx(['render', 'photo.jpg', '-p', 'dark.json', '-o', 'photo.png']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/photo\.jpg is a JPEG image, so the output is JPEG: name it \.jpg or \.jpeg/);
    expect(existsSync(file('photo.png'))).toBe(false);
  });

  it('finds a LUT beside the spec, and names where it looked when it is missing', async () => {
    const run = await livefx(['render', 'photo.jpg', '-p', 'specs/graded.json', '-o', 'graded.jpg']);
    expect(run.code, run.stderr).toBe(0);
    expect(meanLuma(file('graded.jpg'))).toBeLessThan(40);
    await writeFile(file('missing-lut.json'), JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: 'teal.cube' } }] }));
    const missing = await livefx(['render', 'photo.jpg', '-p', 'missing-lut.json', '-o', 'teal.jpg']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`LUT file "teal.cube" not found: looked in ${dir} (beside the spec) and ${path.join(dir, 'data', 'luts')}`);
  });

  it('takes a LUT given as an absolute or a relative path (the server keeps its folder rule), and names a missing one', async () => {
    // A folder away from the spec and from the data folder, and a name the server's folder rule refuses.
    await mkdir(file('grades'), { recursive: true });
    const rows = ['LUT_3D_SIZE 2', ...Array.from({ length: 8 }, () => '0.05 0.05 0.05')];
    await writeFile(file('grades/night (v2).cube'), `${rows.join('\n')}\n`);
    await writeFile(file('absolute-lut.json'), JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: file('grades/night (v2).cube') } }] }));
    const absolute = await livefx(['render', 'photo.jpg', '-p', 'absolute-lut.json', '-o', 'absolute-lut.jpg']);
    expect(absolute.code, absolute.stderr).toBe(0);
    expect(meanLuma(file('absolute-lut.jpg'))).toBeLessThan(40);
    // Relative to where the command runs, not to the spec: the spec lives in specs/, the command runs in the test folder.
    await writeFile(file('specs/relative-lut.json'), JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: 'grades/night (v2).cube' } }] }));
    const relative = await livefx(['render', 'photo.jpg', '-p', 'specs/relative-lut.json', '-o', 'relative-lut.jpg']);
    expect(relative.code, relative.stderr).toBe(0);
    expect(meanLuma(file('relative-lut.jpg'))).toBeLessThan(40);
    await writeFile(file('missing-path.json'), JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: './grades/teal.cube' } }] }));
    const missing = await livefx(['render', 'photo.jpg', '-p', 'missing-path.json', '-o', 'missing-path.jpg']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`spec missing-path.json: transforms.0.params.file: LUT file ${file('grades/teal.cube')} not found`);
    await writeFile(file('not-a-lut.json'), JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: file('notes.txt') } }] }));
    const wrong = await livefx(['render', 'photo.jpg', '-p', 'not-a-lut.json', '-o', 'not-a-lut.jpg']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`${file('notes.txt')} is not a LUT file (expected .cube)`);
  });

  it('still refuses a path for a LUT on the server: there it must be a name in the LUT folder', async () => {
    const server = await startServer();
    try {
      const refused = await fetch(`${server.url}/v1/presets/pathy`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: file('grades/night (v2).cube') } }] }) });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(await refused.json())).toMatch(/must be the name of a \.cube file in the LUT folder/);
    } finally {
      await server.stop();
    }
  });

  it('runs the chain where live streams run theirs (LIVEFX_TRANSFORM_BACKEND), or on --backend, with the same pixels', async () => {
    const runs = {
      auto: await livefx(['render', 'odd.png', '-p', 'pixelate.json', '-o', 'backend-auto.png']),
      envJs: await livefx(['render', 'odd.png', '-p', 'pixelate.json', '-o', 'backend-env-js.png'], { env: { LIVEFX_TRANSFORM_BACKEND: 'js' } }),
      optionWasm: await livefx(['render', 'odd.png', '-p', 'pixelate.json', '-o', 'backend-wasm.png', '--backend', 'wasm'], { env: { LIVEFX_TRANSFORM_BACKEND: 'js' } }),
    };
    for (const run of Object.values(runs)) expect(run.code, run.stderr).toBe(0);
    expect(runs.auto.stderr).toMatch(/ms\/frame on wasm$/m);
    expect(runs.envJs.stderr).toMatch(/ms\/frame on js$/m);
    expect(runs.optionWasm.stderr).toMatch(/ms\/frame on wasm$/m);
    const pixels = ['-pix_fmt', 'rgba'];
    expect(md5(file('backend-wasm.png'), pixels)).toBe(md5(file('backend-env-js.png'), pixels));
    expect(md5(file('backend-wasm.png'), pixels)).not.toBe(md5(file('odd.png'), pixels));
    const refused = await livefx(['render', 'odd.png', '-p', 'pixelate.json', '-o', 'backend-gpu.png', '--backend', 'gpu']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--backend must be one of auto, wasm, js, webgpu \(not "gpu"\)/);
  });

  it('adds the AI-processed label to a stylized render and says so', async () => {
    const run = await livefx(['render', 'photo.jpg', '-p', 'pixelate.json', '-o', 'pixelated.jpg', '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/the "AI-processed" label was added/);
    expect(run.stderr).not.toMatch(/wrote/);
    expect(existsSync(file('pixelated.jpg'))).toBe(true);
  });

  it('works as `npx livefx render` from the repository root', async () => {
    const run = await livefx(['render', file('photo.jpg'), '--preset', file('dark.json'), '-o', file('npx.jpg')], { cwd: projectRoot, command: ['npx', '--offline', 'livefx'] });
    expect(run.code, run.stderr).toBe(0);
    expect(meanLuma(file('npx.jpg'))).toBeLessThan(meanLuma(file('photo.jpg')) - 50);
  });

  it('renders a stored preset by name, from the data folder and from the server at LIVEFX_URL', async () => {
    const server = await startServer();
    try {
      const saved = await fetch(`${server.url}/v1/presets/night`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'color', params: { brightness: -0.4 } }] }) });
      expect(saved.status).toBe(201);
      const remote = await livefx(['render', 'photo.jpg', '-p', 'night', '-o', 'remote.jpg'], { env: { LIVEFX_URL: server.url, LIVEFX_TOKEN: ADMIN_TOKEN } });
      expect(remote.code, remote.stderr).toBe(0);
      expect(meanLuma(file('remote.jpg'))).toBeLessThan(meanLuma(file('photo.jpg')) - 50);
      const local = await livefx(['render', 'photo.jpg', '-p', 'night', '-o', 'local.jpg'], { env: { LIVEFX_DATA_DIR: server.dataDir } });
      expect(local.code, local.stderr).toBe(0);
      const unknown = await livefx(['render', 'photo.jpg', '-p', 'dawn', '-o', 'dawn.jpg'], { env: { LIVEFX_URL: server.url, LIVEFX_TOKEN: ADMIN_TOKEN } });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/no spec file "dawn" and no preset named "dawn"/);
    } finally {
      await server.stop();
    }
  });

  it('refuses bad command lines with the usage and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^usage: livefx <command>/],
      [['transmogrify'], /unknown command "transmogrify"[\s\S]*usage: livefx <command>/],
      [['render', 'clip.mp4', '-p', 'dark.json', '-o', 'x.mp4', '--fast'], /Unknown option '--fast'[\s\S]*usage: livefx render/],
      [['render', 'clip.mp4', '-o', 'x.mp4'], /--preset <spec\.json> is required/],
      [['render', '-p', 'dark.json', '-o', 'x.mp4'], /missing <input>/],
    ];
    for (const [args, message] of cases) {
      const run = await livefx(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    const help = await livefx(['render', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: livefx render <input> --preset <spec\.json> -o <output>/);
  });

  it('fails with exit code 1 and a message naming the problem', async () => {
    await writeFile(file('broken.json'), '{ "transforms": [ ');
    await writeFile(file('invalid.json'), JSON.stringify({ transforms: [{ name: 'color', params: { saturation: 7 } }] }));
    await writeFile(file('exists.mp4'), 'keep me');
    const cases: [string[], RegExp][] = [
      [['render', 'nothere.mp4', '-p', 'dark.json', '-o', 'x.mp4'], /input .*nothere\.mp4 not found/],
      [['render', 'notes.txt', '-p', 'dark.json', '-o', 'x.mp4'], /notes\.txt is not a readable image or video/],
      [['render', 'clip.mp4', '-p', 'nothere.json', '-o', 'x.mp4'], /spec file .*nothere\.json not found/],
      [['render', 'clip.mp4', '-p', 'broken.json', '-o', 'x.mp4'], /spec file .*broken\.json is not JSON/],
      [['render', 'clip.mp4', '-p', 'invalid.json', '-o', 'x.mp4'], /invalid\.json is not a valid chain spec: transforms\.0\.params\.saturation:/],
      [['render', 'clip.mp4', '-p', 'dark.json', '-o', 'exists.mp4'], /output .*exists\.mp4 exists: pass --overwrite/],
      [['render', 'clip.mp4', '-p', 'dark.json', '-o', 'nofolder/x.mp4'], /output folder .*nofolder does not exist/],
    ];
    for (const [args, message] of cases) {
      const run = await livefx(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    expect(await readFile(file('exists.mp4'), 'utf8')).toBe('keep me');
    const overwritten = await livefx(['render', 'clip.mp4', '-p', 'dark.json', '-o', 'exists.mp4', '--overwrite', '--quiet']);
    expect(overwritten.code, overwritten.stderr).toBe(0);
    expect(overwritten.stderr).toBe('');
  });

  it('reports an ffmpeg failure with its last lines, stops the other ffmpeg and leaves no file', async () => {
    // A real ffmpeg whose encoder gets a preset libx264 does not know.
    await mkdir(file('bin'));
    await writeFile(file('bin/ffmpeg'), '#!/bin/bash\nargs=(); for a in "$@"; do [ "$a" = veryfast ] && a=notapreset; args+=("$a"); done\nexec ffmpeg "${args[@]}"\n');
    await chmod(file('bin/ffmpeg'), 0o755);
    await symlink(spawnSync('which', ['ffprobe'], { encoding: 'utf8' }).stdout.trim(), file('bin/ffprobe'));
    const run = await livefx(['render', 'long.mp4', '-p', 'dark.json', '-o', 'failed.mp4'], { env: { LIVEFX_FFMPEG: file('bin/ffmpeg') } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ffmpeg \(encoder\) exited with code 1:\n.*notapreset/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(file('failed.mp4'))).toBe(false);
    expect(await partialFiles()).toEqual([]);
    expect(await ffmpegProcessesInTestDir()).toEqual([]);
  });

  it('stops on Ctrl-C (SIGINT): both ffmpegs killed, no output, exit 130', async () => {
    let interrupted = false;
    const run = await livefx(['render', 'long.mp4', '-p', 'dark.json', '-o', 'interrupted.mp4'], {
      detached: true,
      onStderr: (text, pid) => {
        if (interrupted || !/^render +\d+%/m.test(text)) return;
        interrupted = true;
        // Like a terminal's Ctrl-C: the whole foreground group gets it, ffmpegs included.
        process.kill(-pid, 'SIGINT');
      },
    });
    expect(interrupted).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/livefx render: interrupted\n$/);
    expect(existsSync(file('interrupted.mp4'))).toBe(false);
    expect(await partialFiles()).toEqual([]);
    expect(await ffmpegProcessesInTestDir()).toEqual([]);
  });
});
