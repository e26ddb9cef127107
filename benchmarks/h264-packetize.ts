// The live output's H.264 packetizing on the main thread, per 720p frame: packetizeAvcc reads the
// worker's AVCC access unit in place; before, LiveStream split it into NAL views first (splitAvcc).
//   node dist/benchmarks/h264-packetize.js
import { spawnSync } from 'node:child_process';
import { joinAvcc, nalType, NalType, splitAnnexB, splitAvcc } from '../core/rtp/h264-nal.js';
import { H264Packetizer } from '../core/rtp/h264-packetizer.js';
import { writeResult } from './bar-chart.js';

const SECONDS = 10;
const ROUNDS = 30;
const PASSES = 50;

// 720p30 at the encoder's settings (libx264 ultrafast, baseline, zerolatency), one access unit per AUD.
const encoded = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30`, '-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-g', '30', '-b:v', '2500k', '-bsf:v', 'h264_metadata=aud=insert', '-f', 'h264', 'pipe:1'], { maxBuffer: 64 * 1024 * 1024 });
if (encoded.status !== 0) throw new Error(`ffmpeg failed: ${encoded.stderr.toString()}`);
const accessUnits: Buffer[][] = [];
for (const nal of splitAnnexB(encoded.stdout)) {
  if (nalType(nal) === NalType.AccessUnitDelimiter || accessUnits.length === 0) accessUnits.push([]);
  accessUnits[accessUnits.length - 1]!.push(nal);
}
const avcc = accessUnits.map((nals) => joinAvcc(nals));
const packetizer = new H264Packetizer(1200);
let payloadBytes = 0;
const emit = (payload: Buffer): void => {
  payloadBytes += payload.length;
};

/** Best of ROUNDS × PASSES over every frame, in ns per frame: the best round is the one least disturbed by the rest of the machine. */
function bestNsPerFrame(work: (accessUnit: Buffer) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let pass = 0; pass < PASSES; pass++) for (const accessUnit of avcc) work(accessUnit);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / (PASSES * avcc.length));
  }
  return Math.round(best);
}

const inPlaceNs = bestNsPerFrame((accessUnit) => packetizer.packetizeAvcc(accessUnit, emit));
const splitNs = bestNsPerFrame((accessUnit) => void splitAvcc(accessUnit));
const result = {
  benchmark: 'H.264 RTP packetizing of the live output, per 720p frame',
  date: new Date().toISOString(),
  frames: avcc.length,
  meanFrameBytes: Math.round(avcc.reduce((sum, accessUnit) => sum + accessUnit.length, 0) / avcc.length),
  packetizeAvccNs: inPlaceNs,
  splitAvccNs: splitNs,
  method: `best of ${ROUNDS} rounds of ${PASSES} passes over ${SECONDS} s of libx264 720p30; splitAvccNs is the step the live output no longer takes`,
  payloadBytes,
};
await writeResult('h264-packetize', result, {
  title: 'H.264 packetizing per 720p frame (main thread)',
  unit: 'ns per frame',
  groups: [{ label: 'live output', values: { packetizeAvcc: inPlaceNs, 'splitAvcc (no longer run)': splitNs } }],
});
