// Holds N WebRTC viewers on an endpoint from a separate process (fanout-viewers.js, so their CPU is not
// charged to the servers) and measures what the given server processes spend meanwhile.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreShare, sampleTree } from './process-usage.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ViewerLoad {
  viewers: number;
  /** RTP packets the viewers received and lost (sequence gaps) while measured. */
  received: number;
  lost: number;
  /** Share of one core each given process used meanwhile (the process itself, then its children such as ffmpeg). */
  cores: { self: number; children: number }[];
}

/** N viewers held for `seconds` on `endpoint` (none: the processes are measured idle of viewers); `pids` are sampled meanwhile. */
export async function holdViewers(endpoint: string, viewers: number, seconds: number, pids: number[]): Promise<ViewerLoad> {
  const sampleAll = (): Promise<Awaited<ReturnType<typeof sampleTree>>[]> => Promise.all(pids.map((pid) => sampleTree(pid)));
  const shares = (before: Awaited<ReturnType<typeof sampleAll>>, after: Awaited<ReturnType<typeof sampleAll>>): ViewerLoad['cores'] =>
    before.map((sample, index) => ({ self: coreShare(sample.self, after[index]!.self, seconds), children: coreShare(sample.children, after[index]!.children, seconds) }));
  if (viewers === 0) {
    const before = await sampleAll();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return { viewers, received: 0, lost: 0, cores: shares(before, await sampleAll()) };
  }
  const child = spawn(process.execPath, [path.join(here, 'fanout-viewers.js'), endpoint, String(viewers), String(seconds)]);
  let output = '';
  child.stderr.pipe(process.stderr);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (text: Buffer) => {
      output += text.toString();
      if (output.includes('measuring')) resolve();
    });
    void exited.then(() => reject(new Error(`the viewers' process ended before measuring: ${output}`)));
  });
  const before = await sampleAll();
  await exited;
  const after = await sampleAll();
  const summary = JSON.parse(output.trim().split('\n').at(-1)!) as { received: number; lost: number };
  return { viewers, received: summary.received, lost: summary.lost, cores: shares(before, after) };
}

/** Lost packets as a percentage of those sent. */
export function lossPercent(load: Pick<ViewerLoad, 'received' | 'lost'>): number {
  return load.received + load.lost > 0 ? Math.round((load.lost / (load.received + load.lost)) * 10_000) / 100 : 0;
}
