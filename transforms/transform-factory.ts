import path from 'node:path';
import type { ChainSpecEntry } from './chain-spec.js';
import { Color, colorParams } from './color.js';
import { Grain, grainParams } from './grain.js';
import { ImageOverlay, imageParams } from './image-overlay.js';
import { Label, labelParams } from './label.js';
import { Lut3d, lut3dParams } from './lut3d.js';
import { Pixelate, pixelateParams } from './pixelate.js';
import { Text, textParams } from './text.js';
import { Vignette, vignetteParams } from './vignette.js';
import type { Transform } from './transform.js';

/** Folders that file names in transform parameters are resolved in. */
export interface AssetFolders {
  lutDir: string;
  imageDir: string;
}

/** Builds and configures the transform a spec entry names. May throw (e.g. a malformed .cube file). */
export function createTransform(entry: ChainSpecEntry, folders: AssetFolders): Transform<unknown> {
  switch (entry.name) {
    case 'color': {
      const color = new Color();
      color.configure(colorParams.parse(entry.params));
      return color as Transform<unknown>;
    }
    case 'lut3d': {
      const lut = new Lut3d((name) => path.join(folders.lutDir, path.basename(name)));
      lut.configure(lut3dParams.parse(entry.params));
      return lut as Transform<unknown>;
    }
    case 'text': {
      const text = new Text();
      text.configure(textParams.parse(entry.params));
      return text as Transform<unknown>;
    }
    case 'image': {
      const image = new ImageOverlay((name) => path.join(folders.imageDir, path.basename(name)));
      image.configure(imageParams.parse(entry.params));
      return image as Transform<unknown>;
    }
    case 'pixelate': {
      const pixelate = new Pixelate();
      pixelate.configure(pixelateParams.parse(entry.params));
      return pixelate as Transform<unknown>;
    }
    case 'vignette': {
      const vignette = new Vignette();
      vignette.configure(vignetteParams.parse(entry.params));
      return vignette as Transform<unknown>;
    }
    case 'grain': {
      const grain = new Grain();
      grain.configure(grainParams.parse(entry.params));
      return grain as Transform<unknown>;
    }
    case 'label': {
      const label = new Label();
      label.configure(labelParams.parse(entry.params));
      return label as Transform<unknown>;
    }
  }
}
