// Peak RSS of a process and of its children, sampled from a process of its own: sampling /proc ten
// times a second from inside the measured process added its reads to the CPU seconds being measured.
// Usage: node dist/benchmarks/rss-sampler.js <pid> <interval-ms>; each line "peak" on stdin is answered
// with the peaks so far as one JSON line; the process ends when stdin closes.
import { createInterface } from 'node:readline';
import { sampleTree } from './process-usage.js';

const pid = Number(process.argv[2]);
const intervalMs = Number(process.argv[3] ?? 100);
if (!Number.isInteger(pid) || pid <= 0 || !(intervalMs > 0)) {
  process.stderr.write('usage: rss-sampler <pid> <interval-ms>\n');
  process.exit(2);
}
const peak = { serverRssMb: 0, childrenRssMb: 0 };
const toMb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const timer = setInterval(() => {
  void sampleTree(pid, process.pid).then((sample) => {
    peak.serverRssMb = Math.max(peak.serverRssMb, toMb(sample.self.rssBytes));
    peak.childrenRssMb = Math.max(peak.childrenRssMb, toMb(sample.children.rssBytes));
  }, () => undefined);
}, intervalMs);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'peak') process.stdout.write(`${JSON.stringify(peak)}\n`);
});
lines.on('close', () => clearInterval(timer));
