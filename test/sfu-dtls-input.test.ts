import { describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { answerDtlsRole, guardDtlsInput } from '../server/sfu/dtls-input-guard.js';
import { iceGatheringComplete } from '../server/sfu/ice-gathering.js';

/** A DTLS 1.2 handshake record (content type 22) carrying a ClientHello's first bytes: what a browser's first datagram looks like to werift. */
function handshakeRecord(): Buffer {
  const body = Buffer.from([1, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0xfe, 0xfd, 0, 0]);
  const header = Buffer.from([22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, body.length]);
  return Buffer.concat([header, body]);
}

describe('werift DTLS input', () => {
  it('answers as the DTLS server unless the offer can only be the server', () => {
    expect(answerDtlsRole('v=0\r\na=setup:actpass\r\n')).toBe('server');
    expect(answerDtlsRole('v=0\r\na=setup:active\r\n')).toBe('server');
    expect(answerDtlsRole('v=0\r\na=setup:passive\r\n')).toBe('client');
  });

  it('holds handshake datagrams that come before the DTLS session starts and hands them over in order as it starts', async () => {
    const offerer = new RTCPeerConnection({ iceServers: [] });
    const answerer = new RTCPeerConnection({ iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'] });
    try {
      offerer.addTransceiver('video', { direction: 'recvonly' });
      await offerer.setLocalDescription(await offerer.createOffer());
      await answerer.setRemoteDescription(offerer.localDescription!);
      await answerer.setLocalDescription(await answerer.createAnswer());
      await iceGatheringComplete(answerer);
      guardDtlsInput(answerer);

      const [transport] = answerer.dtlsTransports;
      const connection = transport!.iceTransport.connection as unknown as {
        protocols: Array<{ datagramReceived(data: Buffer, address: [string, number]): void }>;
        onData: { subscribe(listener: (data: Buffer) => void): void };
      };
      const delivered: Buffer[] = [];
      connection.onData.subscribe((data) => delivered.push(data));
      const record = handshakeRecord();
      // Through the socket's own entry point, as werift's UDP socket would deliver it; the DTLS session has not started.
      expect(transport!.state).toBe('new');
      connection.protocols[0]!.datagramReceived(record, ['127.0.0.1', 40000]);
      expect(delivered).toEqual([]);

      // werift announces 'connecting' as it makes its DTLS endpoint; the held datagram follows in the next turn.
      (transport as unknown as { setState(state: string): void }).setState('connecting');
      // The ClientHello's second fragment, between the start and the hand-over: it must not overtake the first.
      const second = handshakeRecord();
      second[second.length - 1] = 1;
      connection.protocols[0]!.datagramReceived(second, ['127.0.0.1', 40000]);
      expect(delivered).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(delivered).toEqual([record, second]);
    } finally {
      await Promise.all([offerer.close(), answerer.close()]);
    }
  });
});
