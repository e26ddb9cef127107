import { createSocket, type Socket } from 'node:dgram';
import type { SdpRewrite } from '../helpers/webrtc-client.js';

interface Endpoint {
  address: string;
  port: number;
}

/**
 * A loopback UDP relay between one WebRTC publisher and the server, for network faults. The offer's
 * and the answer's ICE candidates are rewritten to two relay ports, so every packet of both peers
 * (STUN, DTLS, RTP, RTCP) goes through it, and `interrupt()` drops all of them for a while, like a
 * network that goes away and comes back.
 */
export class UdpRelay {
  /** Faces the publisher: the server's candidate in the answer points here. */
  private readonly towardPublisher: Socket = createSocket('udp4');
  /** Faces the server: the publisher's candidate in the offer points here. */
  private readonly towardServer: Socket = createSocket('udp4');
  private publisher: Endpoint | undefined;
  private server: Endpoint | undefined;
  private dropping = false;
  forwarded = 0;
  dropped = 0;
  /** Arrival time (epoch ms) of the last packet forwarded from the publisher to the server. */
  lastForwardedToServerMs = 0;

  async open(): Promise<void> {
    await Promise.all([this.towardPublisher, this.towardServer].map((socket) => new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))));
    this.towardPublisher.on('message', (packet) => {
      if (!this.server) return;
      if (this.dropping) return void this.dropped++;
      this.forwarded++;
      this.lastForwardedToServerMs = Date.now();
      this.towardServer.send(packet, this.server.port, this.server.address);
    });
    this.towardServer.on('message', (packet) => {
      if (!this.publisher) return;
      if (this.dropping) return void this.dropped++;
      this.forwarded++;
      this.towardPublisher.send(packet, this.publisher.port, this.publisher.address);
    });
  }

  /** What a WhipClient's `sdpRewrite` takes. */
  get sdpRewrite(): SdpRewrite {
    return {
      offer: (sdp) => this.rewrite(sdp, this.towardServer, (endpoint) => (this.publisher = endpoint)),
      answer: (sdp) => this.rewrite(sdp, this.towardPublisher, (endpoint) => (this.server = endpoint)),
    };
  }

  /** Drops every packet, both ways, for `ms` milliseconds. */
  async interrupt(ms: number): Promise<void> {
    this.dropping = true;
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.dropping = false;
  }

  close(): void {
    this.towardPublisher.close();
    this.towardServer.close();
  }

  /** Keeps one loopback UDP host candidate, noting where it really is, and points it at the relay socket. */
  private rewrite(sdp: string, relaySocket: Socket, note: (endpoint: Endpoint) => void): string {
    const relayPort = relaySocket.address().port;
    let kept: Endpoint | undefined;
    const lines = sdp.split('\r\n').filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      const parts = line.split(' ');
      // foundation component transport priority address port typ host
      const [transport, address, port] = [parts[2]?.toLowerCase(), parts[4], Number(parts[5])];
      if (transport !== 'udp' || address !== '127.0.0.1') return false;
      if (kept && kept.port !== port) return false;
      kept = { address, port };
      return true;
    });
    if (!kept) throw new Error('the SDP has no loopback UDP candidate to relay');
    note(kept);
    return lines.map((line) => (line.startsWith('a=candidate:') ? line.replace(` 127.0.0.1 ${kept!.port} `, ` 127.0.0.1 ${relayPort} `) : line)).join('\r\n');
  }
}
