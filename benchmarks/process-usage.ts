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

/**
 * The direct children of a process, from each of its threads' children lists (a child started by a
 * worker thread is listed under that thread). Scanning every /proc entry instead costs the sampling
 * process CPU in proportion to all the processes on the machine, and it runs inside what is measured.
 */
async function childPids(pid: number): Promise<number[]> {
  try {
    const found = new Set<number>();
    for (const task of await readdir(`/proc/${pid}/task`)) {
      const list = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
      for (const child of list.split(' ')) if (/^\d+$/.test(child)) found.add(Number(child));
    }
    return [...found];
  } catch {
    return (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  }
}

/** CPU and RSS of a process, and separately of its child processes (ffmpeg under the server), less the child `excludePid` (a sampler process). */
export async function sampleTree(pid: number, excludePid?: number): Promise<{ self: ProcessSample; children: ProcessSample; childCount: number }> {
  const self = await sampleOne(pid);
  const children: ProcessSample = { cpuSeconds: 0, rssBytes: 0 };
  let childCount = 0;
  for (const childPid of await childPids(pid)) {
    if (childPid === excludePid) continue;
    const child = await sampleOne(childPid).catch(() => undefined);
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
