import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RTCRtpCodecParameters } from 'werift';
import { clientPeerConnection, h264ClientCodec } from '../helpers/webrtc-client.js';
import { iceGatheringComplete } from '../../server/sfu/ice-gathering.js';
import { runFfmpeg } from '../helpers/ffmpeg-fixtures.js';

// Valid documents of every kind a client sends: the fuzzers mutate these, so mutations reach deep into parsers.

/** A chain spec with every transform that needs no detector or speech engine; lut3d and image name the fixture files. */
export function validChainSpec(lut = 'fuzz.cube', image = 'fuzz.png'): { transforms: { name: string; enabled?: boolean; params: Record<string, unknown> }[] } {
  return {
    transforms: [
      { name: 'color', params: { brightness: 0.05, contrast: 1.1, saturation: 1.2, gamma: 1, temperature: 0.1, tint: 0 } },
      { name: 'lut3d', params: { file: lut, interp: 'trilinear', strength: 0.8 } },
      { name: 'text', params: { text: 'fuzz', style: 'lower-third', fontSize: 0.05, color: '#ffffff', background: '#000000a0' } },
      { name: 'image', enabled: false, params: { file: image, position: 'top-left', scale: 0.15, opacity: 1 } },
      { name: 'vignette', params: { strength: 0.5, radius: 0.6 } },
      { name: 'label', params: { text: 'AI-processed', corner: 'top-right' } },
    ],
  };
}

/** More valid specs, one transform each, so mutations reach every parameter schema. */
export const SINGLE_TRANSFORM_SPECS: { name: string; params: Record<string, unknown> }[] = [
  { name: 'pixelate', params: { blockSize: 16 } },
  { name: 'grain', params: { amount: 0.3, seed: 1 } },
  { name: 'toon', params: { levels: 5, edgeThreshold: 24, edgeStrength: 0.85, smoothing: 1, saturation: 1.3, resolution: 'half' } },
  { name: 'sketch', params: { strength: 0.6, blur: 6, paper: 0.3, seed: 1, resolution: 'half' } },
  { name: 'text', params: { text: 'ticker', style: 'ticker', tickerSpeed: 0.15 } },
  { name: 'label', params: { corner: 'bottom-left' } },
];

/** Transforms that start a detector or speech thread: fuzzed only on an idle stream, where a valid spec is stored, not run. */
export const HEAVY_TRANSFORM_SPECS: { name: string; params: Record<string, unknown> }[] = [
  { name: 'face-blur', params: { mode: 'blur', shape: 'ellipse', strength: 0.7, detectEvery: 5 } },
  { name: 'subtitles', params: { position: 'bottom', fontSize: 0.055, background: 'box' } },
];

/** A 5³ .cube with a title, domain lines and a comment. */
export function validCube(size = 5): string {
  const lines = ['TITLE "fuzz grade"', '# a fixture of the fuzz tests', `LUT_3D_SIZE ${size}`, 'DOMAIN_MIN 0 0 0', 'DOMAIN_MAX 1 1 1'];
  for (let b = 0; b < size; b++)
    for (let g = 0; g < size; g++)
      for (let r = 0; r < size; r++) lines.push(`${(r / (size - 1)).toFixed(4)} ${((g / (size - 1)) * 0.9).toFixed(4)} ${(b / (size - 1)).toFixed(4)}`);
  return `${lines.join('\n')}\n`;
}

/** The README's events JSON example, one event of each type. */
export function validEvents(): { events: Record<string, unknown>[] } {
  return {
    events: [
      { t: 0.2, type: 'chat', user: 'u1', text: 'hello' },
      { t: 0.3, type: 'reaction', user: 'u2', kind: 'like' },
      { t: 0.5, type: 'viewers', count: 42 },
      { t: 0.6, type: 'transcript-word', word: 'hi', end: 0.8 },
    ],
  };
}

/** A 1 s MP4 (H.264 + AAC, 160×90) and a small PNG, made by ffmpeg. */
export async function mediaFixtures(dir: string): Promise<{ mp4: Buffer; png: Buffer; mp4File: string; pngFile: string }> {
  const mp4File = path.join(dir, 'fixture.mp4');
  const pngFile = path.join(dir, 'fixture.png');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-movflags', '+faststart', mp4File]);
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=48x32', '-frames:v', '1', pngFile]);
  return { mp4: await readFile(mp4File), png: await readFile(pngFile), mp4File, pngFile };
}

/** Real offers from werift clients: a publisher (H.264 + Opus, sendonly), a VP8 publisher and a viewer (recvonly). */
export async function werifOffers(): Promise<{ publisher: string; publisherVp8: string; viewer: string }> {
  const offer = async (video: RTCRtpCodecParameters[], direction: 'sendonly' | 'recvonly', audio: boolean): Promise<string> => {
    const pc = clientPeerConnection(video);
    pc.addTransceiver('video', { direction });
    if (audio) pc.addTransceiver('audio', { direction });
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringComplete(pc);
    const sdp = pc.localDescription!.sdp;
    await pc.close();
    return sdp;
  };
  const vp8 = new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] });
  return {
    publisher: await offer([h264ClientCodec()], 'sendonly', true),
    publisherVp8: await offer([vp8], 'sendonly', true),
    viewer: await offer([h264ClientCodec()], 'recvonly', false),
  };
}

/** A multipart/form-data body from parts; `file` parts carry a filename. */
export function multipartBody(parts: { name: string; value: Buffer | string; filename?: string; contentType?: string }[], boundary = '----livefxfuzz7d3a91c'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : part.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n`));
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
