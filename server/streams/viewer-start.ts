/** What a viewer's start may hold (~2 s of 720p at 2.5 Mbit/s); past it the hold is dropped and the next keyframe starts it. */
const MAX_HELD_PACKETS = 600;

/**
 * A new WebRTC viewer's first video: it starts at a keyframe, never with frames its decoder cannot
 * use. The keyframe is asked for when the viewer's ICE connects, while DTLS still has 40–100 ms to
 * go, instead of after; packets from it that come before the connection can carry them are held and
 * sent the moment it can.
 *
 * The stream feeds it each access unit's start (`unitBegins`) and packets (`packet`) until `live`;
 * from then on the caller sends to the viewer directly.
 */
export class ViewerStart {
  /** Packets since the latest keyframe began, while the viewer's connection is not up yet. */
  private held: Buffer[] | undefined;
  private connected = false;
  private passing = false;

  constructor(private readonly send: (packet: Buffer) => void) {}

  /** True once the viewer has had its keyframe: nothing is held any more. */
  get live(): boolean {
    return this.passing;
  }

  unitBegins(keyframe: boolean): void {
    if (!keyframe || this.passing) return;
    if (this.connected) this.passing = true;
    // A newer keyframe replaces what was held: the viewer starts as late as it can.
    else this.held = [];
  }

  packet(packet: Buffer): void {
    if (this.passing) this.send(packet);
    else if (this.held) {
      if (this.held.length < MAX_HELD_PACKETS) this.held.push(packet);
      else this.held = undefined;
    }
  }

  /** The viewer's connection is up: what was held goes at once. False when nothing was (the caller asks for a keyframe again). */
  connect(): boolean {
    this.connected = true;
    const held = this.held;
    if (!held) return false;
    this.held = undefined;
    this.passing = true;
    for (const packet of held) this.send(packet);
    return true;
  }
}
