import path from 'node:path';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IMAGE_FILE_NAME, LUT_FILE_NAME } from '../../transforms/chain-spec.js';
import { MUSIC_BEDS, MUSIC_FILE_NAME } from '../../studio/audio-beds.js';
import type { LivefxConfig } from '../../core/config.js';
import { AssetFolder } from '../storage/asset-folder.js';
import { AudioInspector } from '../storage/audio-inspector.js';
import { LivefxError } from '../../core/errors.js';
import { asMultipartError, assertPartReadable } from './multipart-errors.js';

/** Upload limits by default (LIVEFX_LUT_MAX_MB, LIVEFX_IMAGE_MAX_MB, LIVEFX_MUSIC_MAX_MB), and ffprobe for music. */
const DEFAULT_UPLOAD_LIMITS = { LIVEFX_LUT_MAX_MB: 32, LIVEFX_IMAGE_MAX_MB: 8, LIVEFX_MUSIC_MAX_MB: 50, LIVEFX_FFPROBE: 'ffprobe' };

export interface AssetFolders {
  luts: AssetFolder;
  images: AssetFolder;
  /** Music tracks for studio storyboards (`music.track`), in `audio/` where renders read them. */
  music: AssetFolder;
}

const uploadQuery = z.object({ overwrite: z.enum(['true', 'false']).optional() });

/** The LUT and image folders under the data directory, as the lut3d and image transforms read them, and the studio's music. */
export function assetFolders(
  dataDir: string,
  limits: Pick<LivefxConfig, 'LIVEFX_LUT_MAX_MB' | 'LIVEFX_IMAGE_MAX_MB' | 'LIVEFX_MUSIC_MAX_MB' | 'LIVEFX_FFPROBE'> = DEFAULT_UPLOAD_LIMITS,
): AssetFolders {
  const audio = new AudioInspector({ ffprobe: limits.LIVEFX_FFPROBE });
  return {
    luts: new AssetFolder({
      kind: 'lut',
      dir: path.join(dataDir, 'luts'),
      namePattern: LUT_FILE_NAME,
      nameRule: 'a name ending in .cube made of letters, digits and " ._-", starting with a letter or digit, no folders',
      maxBytes: limits.LIVEFX_LUT_MAX_MB * 2 ** 20,
      detailFields: ['size', 'title'],
    }),
    images: new AssetFolder({
      kind: 'image',
      dir: path.join(dataDir, 'images'),
      namePattern: IMAGE_FILE_NAME,
      nameRule: 'a name ending in .png, .jpg or .jpeg made of letters, digits and " ._-", starting with a letter or digit, no folders',
      maxBytes: limits.LIVEFX_IMAGE_MAX_MB * 2 ** 20,
      detailFields: ['width', 'height'],
    }),
    music: new AssetFolder({
      kind: 'audio',
      dir: path.join(dataDir, 'audio'),
      namePattern: MUSIC_FILE_NAME,
      nameRule: 'a name ending in .mp3, .wav, .ogg, .oga, .opus, .m4a, .aac or .flac made of letters, digits and " ._-", starting with a letter or digit, no folders',
      maxBytes: limits.LIVEFX_MUSIC_MAX_MB * 2 ** 20,
      detailFields: ['duration', 'codec', 'channels', 'sample_rate'],
      inspect: (file) => audio.inspect(file),
    }),
  };
}

/** Reads the one multipart file field `file`, refusing anything over the folder's limit. */
async function uploadedFile(request: FastifyRequest, folder: AssetFolder): Promise<{ name: string; data: Buffer }> {
  try {
    return await readUploadForm(request, folder);
  } catch (error) {
    throw asMultipartError(error);
  }
}

async function readUploadForm(request: FastifyRequest, folder: AssetFolder): Promise<{ name: string; data: Buffer }> {
  if (!request.isMultipart()) throw new LivefxError('invalid_request', 'send multipart/form-data with the file in the field "file"');
  // preservePath: a name like "../x.cube" must be refused, not quietly shortened to "x.cube".
  const file = await request.file({ limits: { fileSize: folder.maxBytes, files: 1, fields: 4 }, preservePath: true });
  if (!file) throw new LivefxError('invalid_request', 'the form has no file: put it in the field "file"');
  if (file.fieldname !== 'file') {
    file.file.resume();
    throw new LivefxError('invalid_request', `the file is in the field "${file.fieldname}": put it in the field "file"`);
  }
  try {
    folder.pathOf(file.filename);
  } catch (error) {
    file.file.resume();
    throw error;
  }
  assertPartReadable(file.file, 'file');
  let data: Buffer;
  try {
    data = await file.toBuffer();
  } catch (error) {
    if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw folder.tooLarge();
    throw error;
  }
  // toBuffer can miss a limit hit on the very last chunk: busboy's flag is the truth.
  if (file.file.truncated) throw folder.tooLarge();
  return { name: file.filename, data };
}

function registerFolder(app: FastifyInstance, route: string, listKey: string, folder: AssetFolder, listed: Record<string, unknown> = {}): void {
  app.get(route, async () => ({ [listKey]: await folder.list(), ...listed }));

  app.post(route, async (request, reply) => {
    const query = uploadQuery.safeParse(request.query ?? {});
    if (!query.success) throw new LivefxError('invalid_request', 'overwrite: must be "true" or "false"');
    const { name, data } = await uploadedFile(request, folder);
    const entry = await folder.store(name, data, query.data.overwrite === 'true');
    request.log.info({ file: entry.name, bytes: entry.bytes, kind: folder.kind, by: `http ${request.ip}` }, 'asset uploaded');
    return reply.code(201).send(entry);
  });

  app.delete<{ Params: { name: string } }>(`${route}/:name`, async (request) => {
    await folder.remove(request.params.name);
    request.log.info({ file: request.params.name, kind: folder.kind, by: `http ${request.ip}` }, 'asset deleted');
    return { deleted: request.params.name };
  });
}

/** LUT, logo and music uploads: GET/POST /v1/luts, DELETE /v1/luts/:name, and the same under /v1/images and /v1/music. */
export async function registerAssetRoutes(app: FastifyInstance, folders: AssetFolders): Promise<void> {
  // Each route asks for its own folder's limit; this default is only the largest of them.
  await app.register(fastifyMultipart, { limits: { fileSize: Math.max(folders.luts.maxBytes, folders.images.maxBytes, folders.music.maxBytes), files: 1, fields: 4, parts: 5 } });
  registerFolder(app, '/v1/luts', 'luts', folders.luts);
  registerFolder(app, '/v1/images', 'images', folders.images);
  // The built-in beds are listed beside the uploads: both are valid as a storyboard's music.track.
  registerFolder(app, '/v1/music', 'tracks', folders.music, { beds: MUSIC_BEDS });
}
