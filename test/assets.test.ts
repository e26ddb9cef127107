import { access, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Requests here act as the admin (access control itself is tested in test/auth.test.ts).
import { createStream, startServer, waitFor, type RunningServer, adminFetch as fetch } from './helpers/livefx-process.js';
import { publishAndWatch } from './helpers/publish-and-watch.js';

interface ErrorBody {
  error: { code: string; message: string };
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.stop();
});

/** A LUT_3D_SIZE n table mapping every colour to one grey level. */
function flatCube(size: number, level: number, title = 'flat'): string {
  return [`TITLE "${title}"`, `LUT_3D_SIZE ${size}`, ...Array.from({ length: size ** 3 }, () => `${level} ${level} ${level}`)].join('\n') + '\n';
}

function picture(type: 'image/png' | 'image/jpeg', width = 64, height = 32): Buffer {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ff0000';
  context.fillRect(0, 0, width, height);
  return type === 'image/png' ? canvas.toBuffer('image/png') : canvas.toBuffer('image/jpeg');
}

const upload = (folder: 'luts' | 'images', fileName: string, content: string | Buffer, query = '', field = 'file') => {
  const form = new FormData();
  form.append(field, new Blob([content as BlobPart]), fileName);
  return fetch(`${server.url}/v1/${folder}${query}`, { method: 'POST', body: form });
};
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;
const folderFiles = (folder: string) => readdir(path.join(server.dataDir, folder)).catch(() => [] as string[]);

describe('LUT uploads', () => {
  it('stores a good .cube, lists it, refuses a second copy unless overwrite=true, and deletes it', async () => {
    const created = await upload('luts', 'teal grade.cube', flatCube(2, 0.5, 'Teal'));
    expect(created.status).toBe(201);
    expect(await json(created)).toEqual({ name: 'teal grade.cube', bytes: Buffer.byteLength(flatCube(2, 0.5, 'Teal')), size: 2, title: 'Teal' });
    expect(await folderFiles('luts')).toEqual(['teal grade.cube']);

    const listed = await json<{ luts: unknown[] }>(await fetch(`${server.url}/v1/luts`));
    expect(listed.luts).toEqual([{ name: 'teal grade.cube', bytes: Buffer.byteLength(flatCube(2, 0.5, 'Teal')), size: 2, title: 'Teal' }]);

    const duplicate = await upload('luts', 'teal grade.cube', flatCube(3, 0.1, 'Other'));
    expect(duplicate.status).toBe(409);
    expect((await json<ErrorBody>(duplicate)).error.code).toBe('file_exists');
    const replaced = await upload('luts', 'teal grade.cube', flatCube(3, 0.1, 'Other'), '?overwrite=true');
    expect(replaced.status).toBe(201);
    expect(await json(replaced)).toMatchObject({ size: 3, title: 'Other' });
    expect((await json<{ luts: { size: number }[] }>(await fetch(`${server.url}/v1/luts`))).luts[0]!.size).toBe(3);

    expect((await fetch(`${server.url}/v1/luts/${encodeURIComponent('teal grade.cube')}`, { method: 'DELETE' })).status).toBe(200);
    expect(await folderFiles('luts')).toEqual([]);
    const again = await fetch(`${server.url}/v1/luts/${encodeURIComponent('teal grade.cube')}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect((await json<ErrorBody>(again)).error.code).toBe('file_not_found');
  });

  it('refuses a malformed .cube with the parser’s line-numbered message and writes nothing', async () => {
    const cases: [string, RegExp][] = [
      ['LUT_3D_SIZE 2\n0 0 0\nnot a row\n', /line 3: unknown keyword "not"/],
      ['TITLE "short"\nLUT_3D_SIZE 2\n0 0 0\n', /expected 8 entries for LUT_3D_SIZE 2, found 1/],
      ['LUT_3D_SIZE 2\n0 0 0\n0 0 x\n', /line 3: a table row has a value that is not a number/],
    ];
    for (const [content, message] of cases) {
      const response = await upload('luts', 'broken.cube', content);
      expect(response.status).toBe(422);
      const { error } = await json<ErrorBody>(response);
      expect(error.code).toBe('invalid_lut');
      expect(error.message).toMatch(message);
    }
    // Not even the temporary file stays.
    expect(await folderFiles('luts')).toEqual([]);

    // A malformed file copied into the folder by hand is listed as unusable, with the reason.
    await writeFile(path.join(server.dataDir, 'luts', 'by-hand.cube'), 'LUT_3D_SIZE 2\n0 0 0\n');
    const listed = await json<{ luts: unknown[] }>(await fetch(`${server.url}/v1/luts`));
    expect(listed.luts).toEqual([{ name: 'by-hand.cube', bytes: 20, size: null, title: null, error: expect.stringMatching(/expected 8 entries/) }]);
    expect((await fetch(`${server.url}/v1/luts/by-hand.cube`, { method: 'DELETE' })).status).toBe(200);
  });

  it('never writes or deletes outside the folder: paths and odd names are refused', async () => {
    await writeFile(path.join(server.dataDir, 'outside.cube'), flatCube(2, 0.5));
    for (const name of ['../escaped.cube', '/tmp/absolute.cube', 'sub/dir.cube', '..\\back.cube', '.hidden.cube', 'semi;colon.cube', 'grade.txt', 'grade.cube.sh']) {
      const response = await upload('luts', name, flatCube(2, 0.5));
      expect(response.status, name).toBe(400);
      expect((await json<ErrorBody>(response)).error.code, name).toBe('invalid_file_name');
    }
    await expect(access(path.join(server.dataDir, 'escaped.cube'))).rejects.toThrow();
    await expect(access('/tmp/absolute.cube')).rejects.toThrow();
    expect(await folderFiles('luts')).toEqual([]);

    for (const name of ['..%2Foutside.cube', '..%2F..%2Foutside.cube', '%2Ftmp%2Foutside.cube']) {
      const response = await fetch(`${server.url}/v1/luts/${name}`, { method: 'DELETE' });
      expect(response.status, name).toBe(400);
      expect((await json<ErrorBody>(response)).error.code).toBe('invalid_file_name');
    }
    await access(path.join(server.dataDir, 'outside.cube'));
  });

  it('accepts a LUT of several MiB, well over the JSON body limit', async () => {
    const big = flatCube(65, 0.25, 'big');
    expect(Buffer.byteLength(big)).toBeGreaterThan(3 * 1024 * 1024);
    const response = await upload('luts', 'big.cube', big);
    expect(response.status).toBe(201);
    expect(await json(response)).toMatchObject({ name: 'big.cube', size: 65, title: 'big' });
    expect((await fetch(`${server.url}/v1/luts/big.cube`, { method: 'DELETE' })).status).toBe(200);
  });

  it('refuses files over the size limit (32 MiB for LUTs, 8 MiB for images) with 413', async () => {
    const tooBigLut = await upload('luts', 'huge.cube', Buffer.alloc(32 * 1024 * 1024 + 1, 0x23));
    expect(tooBigLut.status).toBe(413);
    expect((await json<ErrorBody>(tooBigLut)).error).toMatchObject({ code: 'file_too_large', message: expect.stringMatching(/32 MiB/) });
    const tooBigImage = await upload('images', 'huge.png', Buffer.alloc(8 * 1024 * 1024 + 1, 0));
    expect(tooBigImage.status).toBe(413);
    expect((await json<ErrorBody>(tooBigImage)).error.message).toMatch(/8 MiB/);
    expect(await folderFiles('luts')).toEqual([]);
    expect(await folderFiles('images')).toEqual([]);
  });

  it('asks for multipart with the file in the field "file"', async () => {
    const notMultipart = await fetch(`${server.url}/v1/luts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(notMultipart.status).toBe(400);
    expect((await json<ErrorBody>(notMultipart)).error.message).toMatch(/multipart/);
    const wrongField = await upload('luts', 'a.cube', flatCube(2, 0.5), '', 'lut');
    expect(wrongField.status).toBe(400);
    expect((await json<ErrorBody>(wrongField)).error.message).toMatch(/field "file"/);
  });
});

describe('image uploads', () => {
  it('stores PNG and JPEG logos after decoding them, and refuses what does not decode', async () => {
    const png = await upload('images', 'logo.png', picture('image/png', 64, 32));
    expect(png.status).toBe(201);
    expect(await json(png)).toMatchObject({ name: 'logo.png', width: 64, height: 32 });
    const jpeg = await upload('images', 'photo.jpg', picture('image/jpeg', 40, 30));
    expect(jpeg.status).toBe(201);
    expect(await json(jpeg)).toMatchObject({ name: 'photo.jpg', width: 40, height: 30 });

    const truncated = await upload('images', 'cut.png', picture('image/png').subarray(0, 60));
    expect(truncated.status).toBe(422);
    expect((await json<ErrorBody>(truncated)).error).toMatchObject({ code: 'invalid_image', message: expect.stringMatching(/cut\.png.*PNG cannot be decoded/) });
    const text = await upload('images', 'notes.png', 'hello, not a picture');
    expect(text.status).toBe(422);
    expect((await json<ErrorBody>(text)).error.message).toMatch(/not a PNG or JPEG/);
    expect((await upload('images', '../logo.png', picture('image/png'))).status).toBe(400);

    const listed = await json<{ images: { name: string; width: number }[] }>(await fetch(`${server.url}/v1/images`));
    expect(listed.images.map((image) => [image.name, image.width])).toEqual([['logo.png', 64], ['photo.jpg', 40]]);
    expect((await fetch(`${server.url}/v1/images/photo.jpg`, { method: 'DELETE' })).status).toBe(200);
    expect(await folderFiles('images')).toEqual(['logo.png']);
  });
});

describe('a stream using uploaded assets', () => {
  it('grades a live stream with a LUT uploaded through the API, and accepts an uploaded logo', async () => {
    const stream = await createStream(server.url, 'uploaded LUT');
    const refused = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: 'night.cube' } }] }) });
    expect((await json<ErrorBody>(refused)).error.code).toBe('lut_not_found');

    const { publisher, viewer } = await publishAndWatch(server.url, stream, { width: 640, height: 360 });
    try {
      await waitFor('frames', () => viewer.frames.length >= 15 || undefined, 15_000);
      const recentLuma = (count = 3) => viewer.frames.slice(-count).reduce((sum, frame) => sum + frame.centerLuma, 0) / count;
      expect(recentLuma(10)).toBeGreaterThan(60);

      expect((await upload('luts', 'night.cube', flatCube(2, 0.05, 'night'))).status).toBe(201);
      expect((await upload('images', 'corner.png', picture('image/png'))).status).toBe(201);
      const applied = await fetch(`${server.url}/v1/streams/${stream.id}/transforms`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transforms: [{ name: 'lut3d', params: { file: 'night.cube' } }, { name: 'image', params: { file: 'corner.png', scale: 0.1 } }] }),
      });
      expect(applied.status).toBe(200);
      await waitFor('the uploaded LUT darkens the picture', () => (recentLuma() < 40 ? true : undefined), 5000);
    } finally {
      await viewer.stop();
      await publisher.stop();
    }
  });
});
