// How fast an operator's change shows: toggle a transform over the /operator socket and count the
// frames a viewer decodes after the acknowledgement until the picture shows the change (frame
// numbers from the burn-in code), plus the milliseconds from the request.
import { io } from 'socket.io-client';
import { WhepClient } from '../test/helpers/whep-client.js';
import { WhipClient } from '../test/helpers/whip-client.js';
import { percentile, writeResult } from './bar-chart.js';
import { createStream, startServer, waitFor, ADMIN_TOKEN } from '../test/helpers/livefx-process.js';

const TOGGLES = Number(process.env.OPERATOR_TOGGLES ?? 12);

const server = await startServer({ LIVEFX_LOG_LEVEL: 'warn' });
const stream = await createStream(server.url, 'operator latency');
const publisher = new WhipClient({ endpoint: `${server.url}/whip/${stream.id}`, streamKey: stream.streamKey, width: 1280, height: 720 });
await publisher.start();
const viewer = new WhepClient(`${server.url}/whep/${stream.id}`);
await viewer.start();
await waitFor('viewer frames', () => viewer.frames.filter((frame) => frame.code).length >= 30 || undefined, 20_000);
const operator = io(`${server.url}/operator`, { transports: ['websocket'], auth: { token: ADMIN_TOKEN } });
await operator.timeout(5000).emitWithAck('join', { streamId: stream.id });
await operator.timeout(5000).emitWithAck('set-chain', { streamId: stream.id, spec: { transforms: [{ name: 'color', enabled: false, params: { brightness: -0.5 } }] } });
await new Promise((resolve) => setTimeout(resolve, 1000));
const bright = viewer.frames.at(-1)!.centerLuma;

const frameDelays: number[] = [];
const msDelays: number[] = [];
for (let toggle = 0; toggle < TOGGLES; toggle++) {
  const enable = toggle % 2 === 0;
  const sentAt = performance.now();
  const ack = await operator.timeout(5000).emitWithAck('patch-transform', { streamId: stream.id, index: 0, patch: { enabled: enable } });
  if (!ack.ok) throw new Error(JSON.stringify(ack.error));
  const lastNumberAtAck = viewer.frames.filter((frame) => frame.code).at(-1)!.code!.frameNumber;
  const changed = await waitFor('the change at the viewer', () => {
    const frame = viewer.frames.at(-1)!;
    const looksChanged = enable ? frame.centerLuma < bright - 40 : frame.centerLuma > bright - 15;
    return looksChanged && frame.code ? frame : undefined;
  }, 5000, 1);
  msDelays.push(performance.now() - sentAt);
  frameDelays.push(Math.max(0, ((changed.code!.frameNumber - lastNumberAtAck + 0x10000) & 0xffff) - 1));
  await new Promise((resolve) => setTimeout(resolve, 300));
}
operator.close();
await viewer.stop();
await publisher.stop();
await server.stop();

const result = {
  benchmark: 'operator change to viewer picture',
  date: new Date().toISOString(),
  toggles: TOGGLES,
  input: '1280x720 30 fps werift publisher, color brightness −0.5 toggled over the /operator socket, werift viewer decoding',
  framesAfterAck: { p50: percentile(frameDelays, 0.5), p95: percentile(frameDelays, 0.95), max: Math.max(...frameDelays), all: frameDelays },
  msFromRequest: { p50: Math.round(percentile(msDelays, 0.5)), p95: Math.round(percentile(msDelays, 0.95)) },
  target: 'visible within 2 frames',
};
await writeResult('operator-latency', result, {
  title: 'Operator toggle → viewer picture (720p30)',
  unit: 'frames after the ack',
  target: { value: 2, label: 'target 2 frames' },
  groups: [{ label: 'frames decoded before the change shows', values: { p50: result.framesAfterAck.p50, p95: result.framesAfterAck.p95, max: result.framesAfterAck.max } }],
});
process.exit(0);
