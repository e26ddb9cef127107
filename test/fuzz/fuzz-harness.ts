import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { WhepClient } from '../helpers/whep-client.js';
import { WhipClient } from '../helpers/whip-client.js';
import { ADMIN_TOKEN, startServer, waitFor, type RunningServer } from '../helpers/livefx-process.js';
import { FUZZ_COUNT, FUZZ_SEED, FuzzInput } from './fuzz-input.js';

/** The admin token every fuzz server starts with (ignored by servers without access control). */
export { ADMIN_TOKEN };
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sends a request with the path exactly as given (no client-side normalisation of "..", "%2e"
 * or backslashes, unlike fetch), so the server sees what an attacker would send. One connection per
 * request: a refused request whose body the server never read must not bleed into the next one.
 */
export function rawRequest(
  url: string,
  method: string,
  rawPath: string,
  options: { headers?: Record<string, string | number>; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, method, path: rawPath, headers: options.headers ?? {}, agent: false, timeout: options.timeoutMs ?? 20_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${rawPath.slice(0, 120)}: no answer within ${options.timeoutMs ?? 20_000} ms`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Why a response is not a clean refusal or success: a 5xx, or a 4xx without `{ error: { code, message } }`. */
export function responseProblem(response: RawResponse): string | undefined {
  if (response.status >= 500 || response.status < 100) return `status ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`;
  if (response.status < 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    return `status ${response.status} with a body that is not JSON: ${response.body.toString('utf8').slice(0, 200)}`;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || error.code === '' || typeof error.message !== 'string' || error.message === '') {
    return `status ${response.status} without { error: { code, message } }: ${response.body.toString('utf8').slice(0, 200)}`;
  }
  return undefined;
}

/** Collects what went wrong, keeping the first few examples of each kind for the failure message. */
export class ProblemLog {
  private readonly byKind = new Map<string, { count: number; examples: string[] }>();
  /** How many inputs were tried, and how each was answered (status or ack code). */
  readonly outcomes = new Map<string, number>();
  tried = 0;

  count(outcome: string | number): void {
    this.tried++;
    this.outcomes.set(String(outcome), (this.outcomes.get(String(outcome)) ?? 0) + 1);
  }

  add(kind: string, example: string): void {
    const entry = this.byKind.get(kind) ?? { count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < 3) entry.examples.push(example.slice(0, 600));
    this.byKind.set(kind, entry);
  }

  /** One line per kind of problem, empty when there were none. */
  summary(): string[] {
    return [...this.byKind].map(([kind, { count, examples }]) => `${kind} ×${count}: ${examples.join(' || ')}`);
  }

  outcomeText(): string {
    return [...this.outcomes].sort((a, b) => b[1] - a[1]).map(([outcome, count]) => `${outcome}:${count}`).join(' ');
  }
}

/** Renders an input for a failure message: short, printable, with its index so it can be replayed. */
export function describeInput(index: number, what: string, input: unknown): string {
  let text: string;
  if (Buffer.isBuffer(input)) text = `<${input.length} bytes> ${input.subarray(0, 80).toString('hex')}`;
  else if (typeof input === 'string') text = JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…(${input.length})` : input);
  else {
    try {
      text = JSON.stringify(input) ?? String(input);
    } catch {
      text = String(input);
    }
    if (text.length > 300) text = `${text.slice(0, 300)}…(${text.length})`;
  }
  return `#${index} ${what} ${text}`;
}

/** The server's resident memory in KiB (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** Most the server's RSS may grow over a fuzz run after its warm-up: generous, it catches leaks, not noise. */
export const RSS_GROWTH_LIMIT_KIB = 160 * 1024;

/** Log lines that mean an error escaped: an unhandled rejection, an uncaught exception, or any error/fatal pino line. */
export function escapedErrors(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => /unhandled ?rejection|uncaught ?exception/i.test(line) || /"level":(50|60)\b/.test(line))
    .map((line) => line.slice(0, 500));
}

/** A live stream that must keep flowing while another surface is fuzzed: a werift publisher and a decoding WHEP viewer. */
export class BackgroundStream {
  private constructor(
    readonly id: string,
    readonly streamKey: string,
    readonly publisher: WhipClient,
    readonly viewer: WhepClient,
  ) {}

  static async start(server: RunningServer, title = 'fuzz background'): Promise<BackgroundStream> {
    const { id, streamKey } = await createStream(server, title);
    const publisher = new WhipClient({ endpoint: `${server.url}/whip/${id}`, streamKey, width: 320, height: 180, fps: 15, kbps: 400 });
    await publisher.start();
    const viewer = new WhepClient(`${server.url}/whep/${id}`);
    await viewer.start();
    const stream = new BackgroundStream(id, streamKey, publisher, viewer);
    await waitFor('first processed frames of the background stream', () => stream.codedFrames() >= 10 || undefined, 30_000);
    return stream;
  }

  /** Frames the viewer decoded with a readable burn-in code (each one went through the pipeline). */
  codedFrames(): number {
    return this.viewer.frames.filter((frame) => frame.code).length;
  }

  lastFrameNumber(): number {
    for (let index = this.viewer.frames.length - 1; index >= 0; index--) {
      const code = this.viewer.frames[index]!.code;
      if (code) return code.frameNumber;
    }
    return -1;
  }

  /** Why the stream is not flowing: no processed frames during the fuzz, or none after it; undefined when it flows. */
  async flowProblem(framesBefore: number, frameNumberBefore: number, windowMs: number): Promise<string | undefined> {
    // Under a second of fuzz can fall between two frames of a loaded machine: then only "after" is asked.
    const during = windowMs >= 3000 ? this.codedFrames() - framesBefore : 1;
    const now = this.codedFrames();
    const after = await waitFor('15 more processed frames after the fuzz', () => this.codedFrames() >= now + 15 || undefined, 20_000).catch(() => false);
    if (during <= 0) return `no processed frames reached the background viewer while the fuzz ran (${after ? 'they came back after it' : 'none after it either'})`;
    if (!after) return `processed frames stopped after the fuzz (${during} arrived during it)`;
    if (this.lastFrameNumber() <= frameNumberBefore) return 'the burn-in frame number did not advance';
    return undefined;
  }

  async stop(): Promise<void> {
    await this.viewer.stop().catch(() => undefined);
    await this.publisher.stop().catch(() => undefined);
  }
}

export async function createStream(server: RunningServer, title = 'fuzz stream'): Promise<{ id: string; streamKey: string }> {
  const response = await fetch(`${server.url}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ title, record: false }) });
  if (response.status !== 201) throw new Error(`create stream failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; streamKey: string };
}

/**
 * One fuzz session: a real server process (`dist/server/main.js`), logging at info, with a live
 * background stream. `finish()` asserts what every surface must keep: the process is up, no error
 * escaped into the log, the background stream still flows, and memory stayed flat after warm-up.
 */
export class FuzzSession {
  /** This surface's inputs and problems; `nextSurface()` starts a fresh log for the next test of the file. */
  problems = new ProblemLog();
  private rssAfterWarmUp: number | undefined;
  private framesAtStart = 0;
  private frameNumberAtStart = -1;
  private warmedUpAt = Date.now();

  private constructor(
    readonly server: RunningServer,
    readonly background: BackgroundStream | undefined,
    readonly input: FuzzInput,
    readonly scratch: string,
  ) {}

  static async start(surface: string, options: { background?: boolean; env?: Record<string, string> } = {}): Promise<FuzzSession> {
    console.log(`fuzz ${surface}: seed ${FUZZ_SEED} (LIVEFX_FUZZ_SEED), ${FUZZ_COUNT} inputs per surface (LIVEFX_FUZZ_COUNT)`);
    // Rate limits off: a 429 is a clear refusal, but it would stop inputs before the code they are meant for.
    const server = await startServer({
      LIVEFX_LOG_LEVEL: 'info',
      LIVEFX_RECORD_MIN_FREE_MB: '0',
      LIVEFX_HTTP_RATE_PER_IP: '0',
      LIVEFX_HTTP_RATE_PER_TOKEN: '0',
      LIVEFX_HLS_RATE_PER_IP: '0',
      LIVEFX_SOCKET_MESSAGES_PER_S: '0',
      ...options.env,
    });
    try {
      const background = options.background === false ? undefined : await BackgroundStream.start(server);
      const scratch = await mkdtemp(path.join(tmpdir(), 'livefx-fuzz-'));
      return new FuzzSession(server, background, new FuzzInput(FUZZ_SEED).fork(surface), scratch);
    } catch (error) {
      await server.stop('SIGKILL');
      throw error;
    }
  }

  get url(): string {
    return this.server.url;
  }

  get pid(): number {
    return this.server.process.pid!;
  }

  /** A fresh problem log and memory baseline for the next surface fuzzed against the same server. */
  nextSurface(): void {
    this.problems = new ProblemLog();
    this.rssAfterWarmUp = undefined;
  }

  /** Call after the warm-up inputs: the memory baseline, and where the background stream stood. */
  async warmedUp(): Promise<void> {
    this.rssAfterWarmUp = await rssKiB(this.pid);
    this.warmedUpAt = Date.now();
    this.framesAtStart = this.background?.codedFrames() ?? 0;
    this.frameNumberAtStart = this.background?.lastFrameNumber() ?? -1;
  }

  /** Checks one HTTP answer; a problem is recorded with the input that caused it. */
  check(response: RawResponse, input: string, method = 'GET'): void {
    this.problems.count(response.status);
    // A HEAD answer has headers only: its status is what can be checked.
    const problem = method === 'HEAD' ? (response.status >= 500 ? `status ${response.status}` : undefined) : responseProblem(response);
    if (problem) this.problems.add(response.status >= 500 ? '5xx' : 'unclear refusal', `${input} → ${problem}`);
  }

  /** Asserts the pass criteria shared by every surface, all at once so a failure shows every broken one. */
  async finish(surface: string, minimumInputs = FUZZ_COUNT): Promise<void> {
    const failures: string[] = [];
    const alive = this.server.process.exitCode === null && this.server.process.signalCode === null;
    console.log(`fuzz ${surface}: ${this.problems.tried} inputs; answers ${this.problems.outcomeText()}`);
    if (!alive) failures.push(`the server process exited (${this.server.process.exitCode ?? this.server.process.signalCode})`);
    failures.push(...this.problems.summary());
    if (this.problems.tried < minimumInputs) failures.push(`only ${this.problems.tried} of ${minimumInputs} inputs were tried`);
    if (alive) {
      const health = await fetch(`${this.url}/healthz`, { headers: AUTH }).catch(() => undefined);
      if (health?.status !== 200) failures.push(`/healthz answered ${health?.status ?? 'nothing'}`);
      const flow = this.background ? await this.background.flowProblem(this.framesAtStart, this.frameNumberAtStart, Date.now() - this.warmedUpAt) : undefined;
      if (flow) failures.push(flow);
      if (this.rssAfterWarmUp !== undefined) {
        const after = await rssKiB(this.pid);
        console.log(`fuzz ${surface}: server RSS ${Math.round(this.rssAfterWarmUp / 1024)} MiB after warm-up, ${Math.round(after / 1024)} MiB after the fuzz`);
        if (after - this.rssAfterWarmUp >= RSS_GROWTH_LIMIT_KIB) failures.push(`RSS grew by ${Math.round((after - this.rssAfterWarmUp) / 1024)} MiB over the fuzz (limit ${RSS_GROWTH_LIMIT_KIB / 1024} MiB)`);
      }
    }
    failures.push(...escapedErrors(this.server.output()).map((line) => `server log: ${line}`));
    expect(failures, `fuzz ${surface}, seed ${FUZZ_SEED}`).toEqual([]);
  }

  async close(): Promise<void> {
    await this.background?.stop();
    await this.server.stop('SIGTERM');
    await rm(this.scratch, { recursive: true, force: true });
  }
}
