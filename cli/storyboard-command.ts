import { isLivefxError } from '../core/errors.js';
import { storyboardRequestSchema, type Storyboard, type StoryboardRequest } from '../studio/storyboard.js';
import { openLocalStudio } from './local-studio.js';
import type { CliContext, CliInvocation } from './cli-command.js';
import { commandFromHelp } from './help-options.js';
import { readConfig, refusedHint, serverAuthHeaders } from './cli-config.js';
import { CliError, InterruptedError, UsageError } from './cli-errors.js';

const HELP = `usage: livefx storyboard "<prompt>" [--recording <id>]… [--asset <image>]… [--shots N] [--duration S]
                         [--aspect 16:9|9:16|1:1] [--style warm] [--template name] [--seed N] [--json]

Plans a storyboard from a prompt such as "30s recap of the garden hour and the weekend plans, warm look,
vertical": the shots of your recordings that match its words (transcripts) and the moments your audience
reacted to, each with the reasons it was chosen, filling the duration exactly. Prints each shot, then the
storyboard's id on the last line (render it with \`livefx render-video <id>\`).

  -r, --recording <id>   a recording to use (repeatable; default: every recording)
  -a, --asset <image>    an uploaded image to use (repeatable; default: every image when there are no recordings)
  -n, --shots <n>        how many shots, 1–20 (default 4)
  -d, --duration <s>     length in seconds, 5–180 (default: what the prompt says, else 30)
      --aspect <ratio>   16:9, 9:16 or 1:1 (default: what the prompt says, else 16:9)
  -s, --style <look>     clean, warm, cinematic, vivid, mono or a stored preset's name
  -t, --template <name>  follow a template's length, ratio, look and cards
      --seed <n>         the same seed plans the same storyboard (default 42)
      --json             print the storyboard as JSON instead
  -h, --help             this text

With LIVEFX_URL set, the server plans it (POST /v1/video/storyboards, with LIVEFX_TOKEN); otherwise it is
planned here on $LIVEFX_DATA_DIR and stored there. Recordings without a transcript are transcribed once
first. Exit codes: 0 done, 1 failed, 2 wrong command line, 130 interrupted.`;

export const storyboardCommand = commandFromHelp(HELP, runStoryboard, {
  summary: 'plan a storyboard (shots of your recordings, with reasons) from a prompt',
  positionals: { min: 1, max: 1, names: ['prompt'] },
});

const OPTION_OF_FIELD: Record<string, string> = { shots: '--shots', duration_s: '--duration', aspect: '--aspect', style: '--style', template: '--template', seed: '--seed', prompt: '<prompt>', sources: '--recording/--asset' };

/** The request body from the command line, checked by the API's own schema. */
function requestOf(invocation: CliInvocation): StoryboardRequest {
  const values = invocation.values as Record<string, unknown>;
  const body: Record<string, unknown> = { prompt: invocation.positionals[0] };
  const number = (name: string, field: string): void => {
    const value = values[name];
    if (value === undefined) return;
    const parsed = Number(value);
    if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${name} needs a number, not "${String(value)}"`, 'storyboard');
    body[field] = parsed;
  };
  number('shots', 'shots');
  number('duration', 'duration_s');
  number('seed', 'seed');
  for (const name of ['aspect', 'style', 'template']) if (typeof values[name] === 'string') body[name] = values[name];
  const recordings = values.recording as string[] | undefined;
  const assets = values.asset as string[] | undefined;
  if (recordings || assets) body.sources = { ...(recordings ? { recording_ids: recordings } : {}), ...(assets ? { asset_ids: assets } : {}) };
  const parsed = storyboardRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? 'options');
    throw new UsageError(`${OPTION_OF_FIELD[field] ?? field}: ${issue.message}`, 'storyboard');
  }
  return parsed.data;
}

async function runStoryboard(invocation: CliInvocation, context: CliContext): Promise<number> {
  const config = readConfig(context.env);
  const request = requestOf(invocation);
  const storyboard = config.LIVEFX_URL ? await planRemote(config.LIVEFX_URL, serverAuthHeaders(config), request, context) : await planHere(config, request, context);
  print(storyboard, invocation.values.json === true, context);
  return 0;
}

async function planRemote(baseUrl: string, auth: Record<string, string>, request: StoryboardRequest, context: CliContext): Promise<Storyboard> {
  let response: Response;
  try {
    response = await fetch(new URL('/v1/video/storyboards', baseUrl), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(request), signal: context.signal });
  } catch (error) {
    if (context.signal.aborted) throw new InterruptedError();
    throw new CliError(`cannot reach the server at LIVEFX_URL=${baseUrl}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (response.status !== 201) throw new CliError(`the server refused the storyboard (${response.status} ${body?.error?.code ?? ''}): ${body?.error?.message ?? 'no message'}${refusedHint(response.status)}`);
  return body as unknown as Storyboard;
}

async function planHere(config: ReturnType<typeof readConfig>, request: StoryboardRequest, context: CliContext): Promise<Storyboard> {
  const studio = openLocalStudio(config);
  try {
    const { planner } = studio;
    // Working on the data directory is the admin's own access.
    const planned = await planner.plan(request, { role: 'admin', label: 'livefx storyboard (data directory)' }, context.signal).catch((error: unknown) => {
      if (context.signal.aborted) throw new InterruptedError();
      if (isLivefxError(error)) throw new CliError(`${error.code}: ${error.message}`);
      throw error;
    });
    return await studio.storyboards.create(planned.body, planned.provenance);
  } finally {
    await studio.close();
  }
}

function print(storyboard: Storyboard, json: boolean, context: CliContext): void {
  if (json) {
    context.stdout.write(`${JSON.stringify(storyboard, null, 2)}\n`);
    return;
  }
  const clock = (seconds: number): string => `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${(seconds % 60).toFixed(2).padStart(5, '0')}`;
  const lines = [`${storyboard.duration_s} s, ${storyboard.aspect}, ${storyboard.style} look, seed ${storyboard.seed}${storyboard.captions ? ', captions' : ''}`];
  for (const shot of storyboard.shots) {
    const source = shot.source ? ('recording_id' in shot.source ? `${shot.source.recording_id} ${clock(shot.source.in)}–${clock(shot.source.out)}` : `image ${shot.source.asset_id}`) : `"${shot.text ?? ''}"`;
    lines.push(`${shot.index + 1}. ${clock(shot.start)} +${shot.duration.toFixed(2)} s  ${shot.kind}  ${source}${shot.camera ? `  ${shot.camera}` : ''}`);
    if (shot.reasons.length > 0) lines.push(`   ${shot.reasons.join('; ')}`);
  }
  lines.push(storyboard.id);
  context.stdout.write(`${lines.join('\n')}\n`);
}
