import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { parseCubeFile } from '../../transforms/cube-file.js';
import type { AssetInspection, InspectorRequest } from './asset-inspector.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function inspect(kind: InspectorRequest['kind'], file: string): Promise<AssetInspection> {
  const data = await readFile(file);
  if (kind === 'lut') {
    try {
      const lut = parseCubeFile(data.toString('utf8'));
      return { ok: true, details: { size: lut.size, title: lut.title } };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
  const isPng = data.subarray(0, 8).equals(PNG_SIGNATURE);
  const isJpeg = data.length > 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff;
  if (!isPng && !isJpeg) return { ok: false, error: 'not a PNG or JPEG file (its first bytes are neither signature)' };
  const { loadImage } = await import('@napi-rs/canvas');
  try {
    const image = await loadImage(data);
    if (image.width === 0 || image.height === 0) return { ok: false, error: `the ${isPng ? 'PNG' : 'JPEG'} decodes to an empty picture` };
    return { ok: true, details: { width: image.width, height: image.height } };
  } catch (error) {
    return { ok: false, error: `the ${isPng ? 'PNG' : 'JPEG'} cannot be decoded: ${error instanceof Error ? error.message : String(error)}` };
  }
}

// Parsing a 32 MiB .cube or decoding a large picture takes long enough to stall live RTP: it runs here.
const request = workerData as InspectorRequest;
const results: AssetInspection[] = [];
for (const file of request.files) results.push(await inspect(request.kind, file).catch((error: unknown) => ({ ok: false as const, error: `cannot read the file: ${String(error)}` })));
parentPort!.postMessage(results);
