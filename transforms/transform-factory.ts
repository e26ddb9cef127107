import path from 'node:path';
import type { ChainSpecEntry } from './chain-spec.js';
import { Color, colorParams } from './color.js';
import { Label, labelParams } from './label.js';
import { Lut3d, lut3dParams } from './lut3d.js';
import { Text, textParams } from './text.js';
import type { Transform } from './transform.js';

/** Builds and configures the transform a spec entry names. May throw (e.g. a malformed .cube file). */
export function createTransform(entry: ChainSpecEntry, lutDir: string): Transform<unknown> {
  switch (entry.name) {
    case 'color': {
      const color = new Color();
      color.configure(colorParams.parse(entry.params));
      return color as Transform<unknown>;
    }
    case 'lut3d': {
      const lut = new Lut3d((name) => path.join(lutDir, path.basename(name)));
      lut.configure(lut3dParams.parse(entry.params));
      return lut as Transform<unknown>;
    }
    case 'text': {
      const text = new Text();
      text.configure(textParams.parse(entry.params));
      return text as Transform<unknown>;
    }
    case 'label': {
      const label = new Label();
      label.configure(labelParams.parse(entry.params));
      return label as Transform<unknown>;
    }
  }
}
