/// <reference lib="dom" />
// Code evaluated inside Chromium pages by the benchmarks (stringified by playwright: keep it self-contained).
import type { Page } from 'playwright-core';

/**
 * Publishes a 1280x720 canvas whose top row carries the burn-in code of Date.now() at draw time,
 * over WHIP, from a page on the server's origin. Returns when the offer is answered.
 */
export async function publishCodedCanvas(page: Page, streamId: string, streamKey: string, videoCodec: 'H264' | 'VP8' = 'H264'): Promise<void> {
  await page.evaluate(
    async ({ streamId, streamKey, videoCodec }) => {
      // A plain import() would be rewritten by test runners that transform this file; the page must see it as written.
      const importInPage = new Function('url', 'return import(url)') as (url: string) => Promise<any>;
      const layout = await importInPage('/assets/transforms/burn-in-layout.js');
      const canvas = document.createElement('canvas');
      canvas.width = 1280;
      canvas.height = 720;
      document.body.append(canvas);
      const context = canvas.getContext('2d')!;
      const block = layout.burnInBlockSize(1280) as number;
      const bits = new Uint8Array(layout.BURN_IN_BLOCKS as number);
      let frameNumber = 0;
      const draw = (): void => {
        const now = Date.now();
        context.fillStyle = `hsl(${(frameNumber * 3) % 360} 60% 40%)`;
        context.fillRect(0, 0, 1280, 720);
        context.fillStyle = '#fff';
        context.font = '120px sans-serif';
        context.fillText(String(frameNumber), 400, 400);
        layout.encodeBurnIn({ frameNumber: frameNumber & 0xffff, captureMsLow: now >>> 0 }, bits);
        for (let index = 0; index < bits.length; index++) {
          context.fillStyle = bits[index] ? 'rgb(235,235,235)' : 'rgb(16,16,16)';
          context.fillRect(index * block, 0, block, block);
        }
        frameNumber++;
      };
      draw();
      setInterval(draw, 1000 / 30);
      const stream = canvas.captureStream(30);
      const pc = new RTCPeerConnection();
      const transceiver = pc.addTransceiver(stream.getVideoTracks()[0]!, { direction: 'sendonly', streams: [stream] });
      const codecs = RTCRtpReceiver.getCapabilities('video')!.codecs;
      const preferred = codecs.filter((codec) => codec.mimeType === `video/${videoCodec}` && (videoCodec !== 'H264' || /packetization-mode=1/.test(codec.sdpFmtpLine ?? '')));
      // Offer only the chosen codec, so the server cannot pick another.
      transceiver.setCodecPreferences(preferred);
      const parameters = transceiver.sender.getParameters();
      parameters.degradationPreference = 'maintain-resolution';
      await transceiver.sender.setParameters(parameters);
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 2000);
      });
      const response = await fetch(`/whip/${streamId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
        body: pc.localDescription!.sdp,
      });
      if (response.status !== 201) throw new Error(`WHIP answered ${response.status}: ${await response.text()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
      (window as unknown as { publisherPc: RTCPeerConnection }).publisherPc = pc;
    },
    { streamId, streamKey, videoCodec },
  );
}

/**
 * Plays a stream (WHEP processed or original, or plain or low-latency HLS through hls.js) in a <video>, reads the burn-in
 * code of every presented frame and records Date.now() − code time: glass-to-glass latency.
 * With `ll-hls`, `window.measurement.lowLatency` holds what hls.js read from the newest playlist (parts, blocking reload).
 */
export async function watchAndMeasure(page: Page, streamId: string, mode: 'webrtc' | 'original' | 'hls' | 'll-hls'): Promise<void> {
  if (mode === 'hls' || mode === 'll-hls') await page.addScriptTag({ url: '/vendor/hls.min.js' });
  await page.evaluate(
    async ({ streamId, mode }) => {
      // A plain import() would be rewritten by test runners that transform this file; the page must see it as written.
      const importInPage = new Function('url', 'return import(url)') as (url: string) => Promise<any>;
      const layout = await importInPage('/assets/transforms/burn-in-layout.js');
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      document.body.append(video);
      const samples: number[] = [];
      const state = { samples, frames: 0, lowLatency: { parts: 0, canBlockReload: false, partTarget: 0 } };
      (window as unknown as { measurement: typeof state }).measurement = state;
      const canvas = document.createElement('canvas');
      const context = canvas.getContext('2d', { willReadFrequently: true })!;
      const luma = new Uint8Array(layout.BURN_IN_BLOCKS as number);
      const onFrame = (): void => {
        const now = Date.now();
        state.frames++;
        const width = video.videoWidth;
        if (width > 0) {
          const block = layout.burnInBlockSize(width) as number;
          canvas.width = width;
          canvas.height = block;
          context.drawImage(video, 0, 0, width, block, 0, 0, width, block);
          const pixels = context.getImageData(0, 0, width, block).data;
          const row = Math.floor(block / 2) * width * 4;
          for (let index = 0; index < luma.length; index++) {
            const offset = row + (index * block + Math.floor(block / 2)) * 4;
            luma[index] = 0.299 * pixels[offset]! + 0.587 * pixels[offset + 1]! + 0.114 * pixels[offset + 2]!;
          }
          const code = layout.decodeBurnIn(luma);
          if (code) samples.push(layout.captureMsDelta(now, code.captureMsLow));
        }
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      if (mode === 'hls' || mode === 'll-hls') {
        const Hls = (window as unknown as { Hls: any }).Hls;
        // As the watch page: LL-HLS follows the playlist's PART-HOLD-BACK (liveSyncDurationCount would override it).
        const hls = new Hls({ ...(mode === 'hls' ? { liveSyncDurationCount: 2 } : {}), maxLiveSyncPlaybackRate: 1.5, lowLatencyMode: true });
        const load = (): void => hls.loadSource(`/hls/${streamId}/${mode === 'hls' ? 'index' : 'll'}.m3u8`);
        hls.on(Hls.Events.ERROR, (_event: unknown, data: { fatal: boolean }) => data.fatal && setTimeout(load, 1000));
        hls.on(Hls.Events.LEVEL_UPDATED, (_event: unknown, data: { details: { partList: unknown[] | null; canBlockReload: boolean; partTarget: number } }) => {
          state.lowLatency = { parts: data.details.partList?.length ?? 0, canBlockReload: data.details.canBlockReload, partTarget: data.details.partTarget };
        });
        hls.attachMedia(video);
        load();
        return;
      }
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addEventListener('track', (event) => {
        if (event.track.kind === 'video') video.srcObject = new MediaStream([event.track]);
      });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 2000);
      });
      const query = mode === 'original' ? '?source=original' : '';
      const response = await fetch(`/whep/${streamId}${query}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp });
      if (response.status !== 201) throw new Error(`WHEP answered ${response.status}: ${await response.text()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    },
    { streamId, mode },
  );
}

export async function collectSamples(page: Page): Promise<{ samples: number[]; frames: number; lowLatency: { parts: number; canBlockReload: boolean; partTarget: number } }> {
  return page.evaluate(() => {
    const state = (window as unknown as { measurement: { samples: number[]; frames: number; lowLatency: { parts: number; canBlockReload: boolean; partTarget: number } } }).measurement;
    const result = { samples: [...state.samples], frames: state.frames, lowLatency: state.lowLatency };
    state.samples.length = 0;
    state.frames = 0;
    return result;
  });
}
