import { createWriteStream, existsSync, statSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isLivefxError } from '../core/errors.js';
import type { Job } from '../core/jobs/job-queue.js';
import { SqliteJobQueue } from '../core/jobs/sqlite-job-queue.js';
import { RenderService, type StoredRenderResult } from '../studio/render-service.js';
import { describeRenderError } from '../studio/render-error.js';
import { openLocalStudio } from './local-studio.js';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig, refusedHint, serverAuthHeaders } from './cli-config.js';
import { CliError, InterruptedError, UsageError } from './cli-errors.js';
import { ProgressBar } from './progress-bar.js';

const HELP = `usage: livefx render-video <storyboard-id | template-name | template.json | storyboard.json>
                           [--merge key=value]… [--quality preview|high] [--seed N] [-o out.mp4] [--json]

Renders a studio storyboard (or a template filled with --merge fields) into a video with captions,
music and provenance: shots come from the shot cache when unchanged, so a variant is quick.

  -m, --merge <key=value>  a template's merge field (repeat for each)
  -q, --quality <q>        preview (default: ≤ 640 px, 15 fps, fast) or high (1080 p, 30 fps, x264 CRF)
      --seed <n>           the render's seed (default: the storyboard's)
  -o, --output <file>      copy the finished video here, with its signed manifest as <file>.provenance.json
      --json               print the render's result object
  -h, --help               this text

A .json file holding "shots" is a storyboard rendered as it is; any other .json is a template.
With LIVEFX_URL set (and LIVEFX_TOKEN), the render runs on that server (POST /v1/video/renders);
otherwise here on $LIVEFX_DATA_DIR, with outputs in $LIVEFX_DATA_DIR/studio/renders/<id>/.
Progress goes to stderr. Exit codes: 0 done, 1 failed, 2 wrong command line, 130 interrupted.`;

export const renderVideoCommand = commandFromHelp(HELP, runRenderVideo, {
  summary: 'render a studio storyboard or template into a video',
  positionals: { min: 1, max: 1, names: ['storyboard-id | template-name | template.json'] },
});


type Target = { kind: 'storyboard-id'; id: string } | { kind: 'storyboard-file'; body: unknown } | { kind: 'template-file'; template: object; name: string };

interface Options {
  merge: Record<string, string>;
  quality: 'preview' | 'high';
  seed: number | undefined;
}

function optionsOf(values: CliInvocation['values'] & { merge?: unknown }): Options {
  const merge: Record<string, string> = {};
  for (const entry of (values.merge as string[] | undefined) ?? []) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new UsageError(`--merge needs key=value, not "${entry}"`, 'render-video');
    merge[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  const quality = values.quality ?? 'preview';
  if (quality !== 'preview' && quality !== 'high') throw new UsageError(`--quality is preview or high, not "${String(quality)}"`, 'render-video');
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed needs a whole number ≥ 0, not "${String(values.seed)}"`, 'render-video');
  }
  return { merge, quality, seed };
}

async function targetOf(argument: string): Promise<Target> {
  if (argument.endsWith('.json') || (existsSync(argument) && statSync(argument).isFile())) {
    if (!existsSync(argument)) throw new CliError(`${path.resolve(argument)} not found`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(argument, 'utf8'));
    } catch (error) {
      throw new CliError(`${argument} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`${argument} must hold a JSON object (a storyboard or a template)`);
    if ('shots' in parsed && Array.isArray((parsed as { shots: unknown }).shots) && !('fields' in parsed)) return { kind: 'storyboard-file', body: parsed };
    return { kind: 'template-file', template: parsed, name: path.basename(argument, '.json') };
  }
  return { kind: 'storyboard-id', id: argument };
}

async function runRenderVideo(invocation: CliInvocation, context: CliContext): Promise<number> {
  const config = readConfig(context.env);
  const options = optionsOf(invocation.values);
  const target = await targetOf(invocation.positionals[0]!);
  const output = typeof invocation.values.output === 'string' ? path.resolve(invocation.values.output) : undefined;
  const progress = new ProgressBar({ stream: context.stderr, label: 'render-video', total: 1 });
  try {
    const located = config.LIVEFX_URL ? await runRemote(config.LIVEFX_URL, serverAuthHeaders(config), target, options, progress, context, output) : await runLocal(config, target, options, progress, context, output);
    progress.finish(1, 'done');
    if (invocation.values.json === true) context.stdout.write(`${JSON.stringify(located, null, 2)}\n`);
    else context.stdout.write(`${output ?? located.file} (${located.width}×${located.height}, ${located.duration.toFixed(2)} s; shots ${located.shots.map((shot) => (shot.cached ? 'cached' : `${shot.ms} ms`)).join(', ')})\n`);
    return 0;
  } catch (error) {
    progress.abandon();
    throw error;
  }
}

/** The render on this machine: the data directory's database, recordings and shot cache. */
async function runLocal(config: ReturnType<typeof readConfig>, target: Target, options: Options, progress: ProgressBar, context: CliContext, output: string | undefined): Promise<StoredRenderResult> {
  const studio = openLocalStudio(config);
  const { database, log, recorder, storyboards, templates } = studio;
  const queue = new SqliteJobQueue({ db: database.db, concurrency: 1 });
  const service = new RenderService({
    jobQueue: queue,
    dataDir: config.LIVEFX_DATA_DIR,
    ffmpeg: config.LIVEFX_FFMPEG,
    ffprobe: config.LIVEFX_FFPROBE,
    recordings: recorder,
    storyboards,
    templates,
    presetSpec: async (name) => (await studio.presets.get(name))?.spec,
    signer: studio.signer,
    cacheMaxBytes: config.LIVEFX_STUDIO_CACHE_MB * 2 ** 20,
    minFreeBytes: config.LIVEFX_STUDIO_MIN_FREE_MB * 2 ** 20,
    stallS: config.LIVEFX_HIGHLIGHT_STALL_S,
    transformBackend: config.LIVEFX_TRANSFORM_BACKEND,
    log,
  });
  let job: Job | undefined;
  const onAbort = (): void => void (job && queue.cancel(job.id));
  context.signal.addEventListener('abort', onAbort);
  try {
    const caller = { role: 'admin' as const, label: 'livefx render-video' };
    try {
      if (target.kind === 'storyboard-file') job = await service.submitStoryboard(target.body, { quality: options.quality, ...(options.seed !== undefined ? { seed: options.seed } : {}) }, caller);
      else if (target.kind === 'storyboard-id' && !(await templates.get(target.id))) job = await service.submit({ storyboard_id: target.id, quality: options.quality, ...(options.seed !== undefined ? { seed: options.seed } : {}) }, caller);
      else {
        const template = target.kind === 'template-file' ? target.template : target.id;
        job = await service.submitStoryboard(await templates.expand(template, options.merge, {}, caller, options.seed), { quality: options.quality, ...(options.seed !== undefined ? { seed: options.seed } : {}) }, caller);
      }
    } catch (error) {
      if (isLivefxError(error)) throw new CliError(error.message);
      throw error;
    }
    const id = job.id;
    queue.on('progress', (current) => current.id === id && progress.update(current.progress, current.stage));
    await queue.start();
    await queue.settled(id);
    const done = (await queue.get(id))!;
    if (context.signal.aborted) throw new InterruptedError();
    if (done.status !== 'done') throw new CliError(`render ${id} ${done.status}${done.error ? `: ${describeRenderError(done.error)}` : ''}`);
    const result = done.result as StoredRenderResult;
    const dir = service.renderDir(id);
    if (output) {
      await copyFile(path.join(dir, result.file), output);
      // The signed manifest goes with the copy, so `livefx verify <output>` checks it.
      await copyFile(path.join(dir, 'manifest.json'), `${output}.provenance.json`).catch(() => undefined);
    }
    const local = (name: string | null): string | null => (name ? path.join(dir, name) : null);
    return { ...result, file: local(result.file)!, thumbnail: local(result.thumbnail)!, captions: local(result.captions) };
  } finally {
    context.signal.removeEventListener('abort', onAbort);
    await service.close();
    await studio.close();
  }
}

/** The render on the server at LIVEFX_URL, polled until it settles; Ctrl-C cancels it there. */
async function runRemote(baseUrl: string, auth: Record<string, string>, target: Target, options: Options, progress: ProgressBar, context: CliContext, output: string | undefined): Promise<StoredRenderResult> {
  const call = async (method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> => {
    let response: Response;
    try {
      response = await fetch(new URL(route, baseUrl), { method, headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: context.signal });
    } catch (error) {
      if (context.signal.aborted) throw new InterruptedError();
      throw new CliError(`cannot reach the server at LIVEFX_URL=${baseUrl}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  const common = { quality: options.quality, ...(options.seed !== undefined ? { seed: options.seed } : {}) };
  let request: Record<string, unknown>;
  if (target.kind === 'storyboard-file') throw new CliError('a storyboard file renders on the data directory: unset LIVEFX_URL, or create the storyboard on the server first');
  if (target.kind === 'template-file') {
    const stored = await call('PUT', `/v1/video/templates/${encodeURIComponent(target.name)}`, target.template);
    if (stored.status >= 300) throw new CliError(`the server refused the template ${target.name} (${stored.status}): ${stored.body?.error?.message ?? 'no message'}${refusedHint(stored.status)}`);
    request = { template: target.name, merge: options.merge, ...common };
  } else {
    // A name the server knows as a template is one; anything else is a storyboard id.
    const template = Object.keys(options.merge).length > 0 ? { status: 200 } : await call('GET', `/v1/video/templates/${encodeURIComponent(target.id)}`);
    request = template.status === 200 ? { template: target.id, merge: options.merge, ...common } : { storyboard_id: target.id, ...common };
  }
  const posted = await call('POST', '/v1/video/renders', request);
  if (posted.status !== 202) throw new CliError(`the server refused the render (${posted.status}): ${posted.body?.error?.message ?? 'no message'}${refusedHint(posted.status)}`);
  const id = posted.body.id as string;
  try {
    for (;;) {
      const view = (await call('GET', `/v1/video/renders/${id}`)).body;
      progress.update(view.progress, view.stage);
      if (view.status === 'done') {
        const result = view.result as StoredRenderResult;
        if (output) {
          const response = await fetch(new URL(result.file, baseUrl), { headers: auth, signal: context.signal });
          if (!response.ok || !response.body) throw new CliError(`downloading ${result.file} failed (${response.status})`);
          await pipeline(Readable.fromWeb(response.body as never), createWriteStream(output));
          // The signed manifest goes with the download, so `livefx verify <output>` checks it.
          const manifest = await fetch(new URL(`/v1/video/renders/${id}/files/manifest.json`, baseUrl), { headers: auth, signal: context.signal });
          if (manifest.ok) await writeFile(`${output}.provenance.json`, await manifest.text());
        }
        const absolute = (route: string | null): string | null => (route ? new URL(route, baseUrl).toString() : null);
        return { ...result, file: absolute(result.file)!, thumbnail: absolute(result.thumbnail)!, captions: absolute(result.captions) };
      }
      if (view.status === 'failed') throw new CliError(`render ${id} failed: ${describeRenderError(view.error)}`);
      if (view.status === 'cancelled') throw new CliError(`render ${id} was cancelled`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    if (error instanceof InterruptedError || context.signal.aborted) {
      await fetch(new URL(`/v1/video/renders/${id}`, baseUrl), { method: 'DELETE', headers: auth }).catch(() => undefined);
      throw new InterruptedError();
    }
    throw error;
  }
}
