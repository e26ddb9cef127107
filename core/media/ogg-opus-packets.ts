// Opus packets out of a whole Ogg Opus file (RFC 7845), for publishers and tests that send a
// prepared microphone track as WebRTC does: one packet per RTP payload.

const PAGE_HEADER_BYTES = 27;
/** A lacing value under 255 ends a packet; 255 means the packet goes on in the next segment. */
const CONTINUED = 255;

/** The audio packets of an Ogg Opus file in order, without its OpusHead and OpusTags header packets. */
export function oggOpusPackets(file: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pieces: Buffer[] = [];
  let offset = 0;
  while (offset + PAGE_HEADER_BYTES <= file.length) {
    if (file.toString('latin1', offset, offset + 4) !== 'OggS') throw new Error(`not an Ogg page at byte ${offset}`);
    const segmentCount = file[offset + 26]!;
    const lacing = file.subarray(offset + PAGE_HEADER_BYTES, offset + PAGE_HEADER_BYTES + segmentCount);
    let cursor = offset + PAGE_HEADER_BYTES + segmentCount;
    for (const size of lacing) {
      pieces.push(file.subarray(cursor, cursor + size));
      cursor += size;
      if (size < CONTINUED) {
        packets.push(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
        pieces = [];
      }
    }
    offset = cursor;
  }
  if (packets.length < 2 || packets[0]!.toString('latin1', 0, 8) !== 'OpusHead') throw new Error('not an Ogg Opus file (no OpusHead packet)');
  return packets.slice(2);
}
