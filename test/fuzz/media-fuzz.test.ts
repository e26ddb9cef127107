import dgram from 'node:dgram';
import type { RTCPeerConnection } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, FuzzSession, createStream, describeInput, rawRequest } from './fuzz-harness.js';
import { werifOffers } from './fuzz-fixtures.js';
import { FUZZ_COUNT, runBounded, type FuzzInput } from './fuzz-input.js';

// SDP offers (WHIP and WHEP) mutated from real werift offers, and RTP/RTCP/STUN/DTLS garbage
// sprayed at the server's media ports while a real publisher and viewer use them.

let session: FuzzSession;
let offers: Awaited<ReturnType<typeof werifOffers>>;

beforeAll(async () => {
  session = await FuzzSession.start('media');
  offers = await werifOffers();
}, 120_000);

afterAll(async () => {
  await session?.close();
});

function offerFor(input: FuzzInput, valid: string): string {
  const roll = input.int(0, 9);
  if (roll <= 6) return input.mutateLines(valid, '\r\n');
  if (roll === 7) return `v=0\r\n${input.mutateLines(valid, '\r\n').split('\r\n').slice(1).sort(() => input.next() - 0.5).join('\r\n')}`;
  if (roll === 8) return input.chance(0.5) ? valid.replace(/m=video \d+/, `m=video ${input.pick(['0', '-1', '70000', 'x'])}`) : valid.replace(/H264|VP8|opus/g, input.pick(['H265', 'AV1', '', 'h264']));
  return input.string();
}

/** The server's UDP ports, from the candidates of the answers its peer connections sent. */
function serverPorts(pc: RTCPeerConnection): number[] {
  const sdp = pc.remoteDescription?.sdp ?? '';
  const ports = [...sdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/gim)].map((match) => Number(match[1]));
  return [...new Set(ports)];
}

/** One junk datagram of the given kind: what a confused or hostile peer might send. */
function garbage(input: FuzzInput, kind: number, ssrc: number): Buffer {
  switch (kind) {
    case 0:
      return input.bytes(input.int(0, 1500));
    case 1: {
      // RTP: version 2, any payload type, maybe the real SSRC, a payload of junk (unencrypted: SRTP must drop it).
      const packet = Buffer.concat([Buffer.alloc(12), input.bytes(input.int(0, 1200))]);
      packet[0] = 0x80 | (input.chance(0.3) ? input.int(0, 0x3f) : 0);
      packet[1] = input.int(0, 255);
      packet.writeUInt16BE(input.int(0, 0xffff), 2);
      packet.writeUInt32BE(input.int(0, 0xffffffff) >>> 0, 4);
      packet.writeUInt32BE(input.chance(0.5) ? ssrc : input.int(0, 0xffffffff) >>> 0, 8);
      return packet.subarray(0, input.chance(0.1) ? input.int(0, 12) : packet.length);
    }
    case 2: {
      // RTCP: SR, RR, SDES, BYE, APP, RTPFB, PSFB with lying length fields.
      const packet = Buffer.concat([Buffer.alloc(8), input.bytes(input.int(0, 200))]);
      packet[0] = 0x80 | input.int(0, 31);
      packet[1] = input.int(200, 206);
      packet.writeUInt16BE(input.chance(0.5) ? input.int(0, 0xffff) : (packet.length >> 2) - 1, 2);
      packet.writeUInt32BE(input.chance(0.5) ? ssrc : input.int(0, 0xffffffff) >>> 0, 4);
      return packet;
    }
    case 3: {
      // STUN: a binding request (or any method) with the magic cookie and attributes whose lengths lie.
      const attributes = input.bytes(input.int(0, 300));
      for (let at = 0; at + 4 <= attributes.length; at += 4 + input.int(0, 40)) {
        attributes.writeUInt16BE(input.pick([0x0006, 0x0008, 0x8028, 0x0020, 0x0024, 0x8029, 0x802a, 0x0025, input.int(0, 0xffff)]), at);
        attributes.writeUInt16BE(input.int(0, 0xffff), at + 2);
      }
      const header = Buffer.alloc(20);
      header.writeUInt16BE(input.pick([0x0001, 0x0101, 0x0111, 0x0011, input.int(0, 0x3fff)]), 0);
      header.writeUInt16BE(input.chance(0.5) ? attributes.length : input.int(0, 0xffff), 2);
      header.writeUInt32BE(0x2112a442, 4);
      input.bytes(12).copy(header, 8);
      return Buffer.concat([header, attributes]);
    }
    default: {
      // DTLS: handshake, alert, application data or change cipher spec records with wrong lengths.
      const body = input.bytes(input.int(0, 600));
      const header = Buffer.alloc(13);
      header[0] = input.pick([20, 21, 22, 23, input.int(20, 63)]);
      header[1] = 0xfe;
      header[2] = input.pick([0xfd, 0xff, input.int(0, 255)]);
      header.writeUInt16BE(input.int(0, 3), 3);
      input.bytes(6).copy(header, 5);
      header.writeUInt16BE(input.chance(0.5) ? body.length : input.int(0, 0xffff), 11);
      if (header[0] === 22 && body.length > 12) body[0] = input.pick([1, 2, 11, 12, 14, 16, 20, input.int(0, 255)]);
      return Buffer.concat([header, body]);
    }
  }
}

describe('media fuzz', () => {
  it(`answers ${FUZZ_COUNT} mutated WHIP offers and ${FUZZ_COUNT} mutated WHEP offers with a 201 or a clear 4xx`, async () => {
    let target = await createStream(session.server, 'fuzz whip');
    const total = FUZZ_COUNT * 2;
    let done = 0;
    let accepted = 0;
    await runBounded(total, 16, async (index) => {
      const input = session.input.fork(`sdp #${index}`);
      const whip = index % 2 === 0;
      const offer = offerFor(input, whip ? (input.chance(0.7) ? offers.publisher : offers.publisherVp8) : input.chance(0.85) ? offers.viewer : offers.publisher);
      const stream = target;
      const route = whip ? `/whip/${stream.id}` : `/whep/${session.background!.id}${input.chance(0.1) ? input.pick(['?source=original', '?source=x', '?source=']) : ''}`;
      const headers: Record<string, string> = { 'content-type': input.chance(0.95) ? 'application/sdp' : input.pick(['application/json', 'text/plain', 'application/trickle-ice-sdpfrag']) };
      if (whip) headers.authorization = `Bearer ${stream.streamKey}`;
      const label = describeInput(index, `POST ${route}`, offer);
      try {
        const response = await rawRequest(session.url, 'POST', route, { headers, body: offer });
        session.check(response, label);
        if (response.status === 201) {
          accepted++;
          const location = String(response.headers.location ?? '');
          if (!response.body.toString().startsWith('v=0')) session.problems.add('201 without an SDP answer', label);
          // An accepted publisher ends its stream when it leaves: the next offers go to a fresh one.
          if (whip) target = await createStream(session.server, 'fuzz whip');
          const gone = await rawRequest(session.url, 'DELETE', location, { headers: AUTH });
          // 404: the session already ended (a connection that failed is removed at once).
          if (gone.status !== 200 && gone.status !== 404) session.problems.add('accepted session could not be deleted', `${label} → DELETE ${location} ${gone.status}`);
        }
      } catch (error) {
        session.problems.count('no answer');
        session.problems.add('no answer', `${label} → ${(error as Error).message}`);
      }
      if (++done === 100) await session.warmedUp();
    });
    console.log(`fuzz media: ${accepted} of ${total} mutated offers were still usable (answered, then deleted)`);
    await session.finish('sdp', total);
  }, 240_000);

  it(`survives ${FUZZ_COUNT} junk datagrams of each kind (random, RTP, RTCP, STUN, DTLS) on the live media ports`, async () => {
    session.nextSurface();
    const input = session.input.fork('udp');
    const background = session.background!;
    const publisherPc = (background.publisher as unknown as { pc: RTCPeerConnection }).pc;
    const viewerPc = (background.viewer as unknown as { pc: RTCPeerConnection }).pc;
    const ports = [...new Set([...serverPorts(publisherPc), ...serverPorts(viewerPc)])];
    expect(ports.length, 'server candidates in the answers').toBeGreaterThan(0);
    const ssrc = 1;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const kinds = 5;
    const total = FUZZ_COUNT * kinds;
    let sent = 0;
    const send = (packet: Buffer, port: number): Promise<void> => new Promise((resolve) => socket.send(packet, port, '127.0.0.1', () => resolve()));
    for (let index = 0; index < total; index++) {
      const packet = garbage(input, index % kinds, ssrc);
      for (const port of ports) await send(packet, port);
      session.problems.count(`kind ${index % kinds}`);
      sent++;
      // Bursts of 100, then a breath: the spray is hostile, not a bandwidth test.
      if (index % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
      if (index === 200) await session.warmedUp();
    }
    socket.close();
    console.log(`fuzz media: ${sent} junk datagrams to each of the ports ${ports.join(', ')}`);
    // The real publisher's and viewer's connections are still up, and frames still flow (finish checks).
    expect(publisherPc.connectionState).toBe('connected');
    expect(viewerPc.connectionState).toBe('connected');
    await session.finish('udp', total);
  }, 180_000);
});
