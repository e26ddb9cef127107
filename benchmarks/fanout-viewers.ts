// Child process of the fan-out benchmark: N werift WHEP viewers that count packets and losses
// (no decoding), so the viewers' own CPU is not charged to the server.
import { WhepClient } from '../test/helpers/whep-client.js';

const [endpoint, countText, secondsText] = process.argv.slice(2);
const count = Number(countText);
const seconds = Number(secondsText);
const viewers = Array.from({ length: count }, () => new WhepClient(endpoint!, false));
for (const viewer of viewers) await viewer.start();
process.stdout.write('ready\n');
await new Promise((resolve) => setTimeout(resolve, 2000));
const start = viewers.map((viewer) => ({ packets: viewer.rtpPackets, lost: viewer.packetsLost }));
process.stdout.write('measuring\n');
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const received = viewers.reduce((sum, viewer, index) => sum + viewer.rtpPackets - start[index]!.packets, 0);
const lost = viewers.reduce((sum, viewer, index) => sum + viewer.packetsLost - start[index]!.lost, 0);
process.stdout.write(`${JSON.stringify({ viewers: count, received, lost })}\n`);
await Promise.all(viewers.map((viewer) => viewer.stop()));
process.exit(0);
