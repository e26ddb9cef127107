import type { RTCPeerConnection } from 'werift';

type IceDatagramSink = { datagramReceived(data: Buffer, address: [string, number]): void };

/** True when a DTLS datagram holds a record that makes werift close the session: an alert (21) or an unknown content type. */
function hasClosingDtlsRecord(data: Buffer): boolean {
  for (let offset = 0; offset + 13 <= data.length; offset += 13 + data.readUInt16BE(offset + 11)) {
    const type = data[offset]!;
    if (type < 20 || type > 23 || type === 21) return true;
  }
  return false;
}

/** At most this many handshake datagrams are held for a DTLS session not started yet (a ClientHello is one or two). */
const MAX_EARLY_HANDSHAKE_DATAGRAMS = 8;

/**
 * Two guards on werift's DTLS input, set on each of its sockets.
 *
 * Spoofed closes: werift closes a DTLS session on any plaintext alert record or unknown content type
 * that reaches one of its ports, whatever its source: one spoofed datagram from anyone who finds the
 * port ended the stream (found by the fuzz suite). The session's peer is the local socket and remote
 * address its first handshake record came through; a closing record from anywhere else is dropped.
 * Handshake, cipher-change and application records still pass from any pair (ICE may switch pairs
 * mid-handshake; werift's cipher authenticates them), and so do RTP, RTCP (SRTP-authenticated) and STUN.
 *
 * Early ClientHellos: werift starts its DTLS server only once its own ICE state is connected, but a
 * browser sends its ClientHello as soon as its first check succeeds, a few ms sooner; werift dropped
 * it, and the handshake waited for the browser's retransmission (50–260 ms). Handshake datagrams that
 * come before the session starts are held and handed to it as it starts.
 */
export function guardDtlsInput(pc: Pick<RTCPeerConnection, 'dtlsTransports'>): void {
  for (const dtlsTransport of pc.dtlsTransports) {
    const connection = dtlsTransport.iceTransport.connection as unknown as { protocols: IceDatagramSink[] };
    // One DTLS session per ICE connection, fed by every local candidate's socket: the peer is a socket and an address.
    let dtlsPeer: string | undefined;
    // Handshake datagrams wait here until the session has started and had those before them, in order:
    // werift reassembles a fragmented ClientHello (a browser's is two datagrams) only from its fragments in order.
    let early: Array<() => void> | undefined = [];
    const started = dtlsTransport.onStateChange.subscribe((state) => {
      if (state === 'new') return;
      started.unSubscribe();
      // werift makes its DTLS endpoint right after announcing 'connecting', in the same turn.
      if (state === 'connecting') {
        setImmediate(() => {
          const held = early ?? [];
          early = undefined;
          for (const replay of held) replay();
        });
      } else early = undefined;
    });
    connection.protocols.forEach((protocol, socket) => {
      const deliver = protocol.datagramReceived.bind(protocol);
      protocol.datagramReceived = (data, address) => {
        const first = data.length > 0 ? data[0]! : 0;
        if (first >= 20 && first <= 63) {
          const from = `${socket}|${address[0]}|${address[1]}`;
          if (first === 22) dtlsPeer ??= from;
          if (from !== dtlsPeer && hasClosingDtlsRecord(data)) return;
          if (first === 22 && early) {
            if (early.length < MAX_EARLY_HANDSHAKE_DATAGRAMS) early.push(() => deliver(data, address));
            return;
          }
        }
        deliver(data, address);
      };
    });
  }
}

/**
 * The DTLS role livefx's answer takes. Left alone, werift answers every offer as the DTLS client,
 * whose first flight waits a fixed 100 ms after ICE connects; as the server it answers the peer's
 * ClientHello at once (with early ClientHellos held, see guardDtlsInput: a browser viewer's ICE
 * connected to DTLS connected went from p50 190–250 ms to 70–110 ms on the loaded 2-core machine).
 * An offer that will only be the server (`a=setup:passive`, e.g. some WHIP encoders) gets the client.
 */
export function answerDtlsRole(offerSdp: string): 'client' | 'server' {
  return /^a=setup:passive\s*$/m.test(offerSdp) ? 'client' : 'server';
}
