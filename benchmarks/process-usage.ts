import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  /** CPU seconds (user + system) used so far. */
  cpuSeconds: number;
  rssBytes: number;
}

async function sampleOne(pid: number): Promise<ProcessSample & { ppid: number; name: string }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { ppid: Number(fields[1]), name, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, rssBytes: rssKb * 1024 };
}

/** CPU and RSS of a process, and separately of its child processes (ffmpeg under the server). */
export async function sampleTree(pid: number): Promise<{ self: ProcessSample; children: ProcessSample; childCount: number }> {
  const self = await sampleOne(pid);
  const children: ProcessSample = { cpuSeconds: 0, rssBytes: 0 };
  let childCount = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = await sampleOne(Number(entry)).catch(() => undefined);
    if (!child || child.ppid !== pid) continue;
    children.cpuSeconds += child.cpuSeconds;
    children.rssBytes += child.rssBytes;
    childCount++;
  }
  return { self: { cpuSeconds: self.cpuSeconds, rssBytes: self.rssBytes }, children, childCount };
}

/**
 * CPU seconds (user + system) of a process plus every child it has waited for (ffmpeg runs that
 * ended): the load-independent cost of work done between two readings, whatever else runs.
 */
export async function cpuSecondsWithEndedChildren(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/** Average share of one core used between two samples taken `seconds` apart. */
export function coreShare(before: ProcessSample, after: ProcessSample, seconds: number): number {
  return (after.cpuSeconds - before.cpuSeconds) / seconds;
}
