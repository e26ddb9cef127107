import path from 'node:path';
import type { ChainSpecEntry, TransformName } from './chain-spec.js';
import { Color } from './color.js';
import { FaceBlur } from './face-blur.js';
import { Grain } from './grain.js';
import { ImageOverlay } from './image-overlay.js';
import { Label } from './label.js';
import { Lut3d } from './lut3d.js';
import { Pixelate } from './pixelate.js';
import { Sketch } from './sketch.js';
import { Subtitles } from './subtitles/subtitles-transform.js';
import { Text } from './text.js';
import { Toon } from './toon.js';
import type { Transform, TransformReport } from './transform.js';
import { Vignette } from './vignette.js';

/** Folders that file names in transform parameters are resolved in. */
export interface AssetFolders {
  lutDir: string;
  imageDir: string;
}

/** Configures a transform with parameters checked by its own schema. */
function configured<P>(transform: Transform<P>, params: unknown): Transform<unknown> {
  transform.configure(transform.params.parse(params));
  return transform as Transform<unknown>;
}

const inFolder = (folder: string) => (name: string) => path.join(folder, path.basename(name));

const factories: Record<TransformName, (params: unknown, folders: AssetFolders, report?: TransformReport) => Transform<unknown>> = {
  color: (params) => configured(new Color(), params),
  lut3d: (params, folders) => configured(new Lut3d(inFolder(folders.lutDir)), params),
  text: (params) => configured(new Text(), params),
  label: (params) => configured(new Label(), params),
  image: (params, folders) => configured(new ImageOverlay(inFolder(folders.imageDir)), params),
  pixelate: (params) => configured(new Pixelate(), params),
  vignette: (params) => configured(new Vignette(), params),
  grain: (params) => configured(new Grain(), params),
  toon: (params) => configured(new Toon(), params),
  sketch: (params) => configured(new Sketch(), params),
  'face-blur': (params, _folders, report) => configured(new FaceBlur(report), params),
  subtitles: (params) => configured(new Subtitles(), params),
};

/** Builds and configures the transform a spec entry names. May throw (e.g. a malformed .cube file). */
export function createTransform(entry: ChainSpecEntry, folders: AssetFolders, report?: TransformReport): Transform<unknown> {
  return factories[entry.name](entry.params, folders, report);
}
