// Inputs the benchmarks share: a creative grade as a .cube file and a translucent logo.
import { spawnSync } from 'node:child_process';

/** A smooth, clearly visible grade (warm highlights, lifted blacks) as .cube text of the given size. */
export function gradeCube(size: number): string {
  const lines = [`LUT_3D_SIZE ${size}`];
  for (let b = 0; b < size; b++)
    for (let g = 0; g < size; g++)
      for (let r = 0; r < size; r++) {
        const [red, green, blue] = [r / (size - 1), g / (size - 1), b / (size - 1)];
        const luma = 0.3 * red + 0.59 * green + 0.11 * blue;
        lines.push(`${Math.min(1, 0.05 + 0.9 * red ** 0.85 + 0.1 * luma)} ${Math.min(1, 0.03 + 0.92 * green ** 1.05 + 0.05 * blue)} ${Math.min(1, 0.08 + 0.8 * blue ** 1.2 + 0.15 * (1 - luma) * green)}`);
      }
  return lines.join('\n');
}

/** Writes a 256×128 red logo at 60 % opacity as PNG (ffmpeg makes it). */
export function writeLogo(file: string): void {
  const result = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red@0.6:s=256x128,format=rgba', '-frames:v', '1', file]);
  if (result.status !== 0) throw new Error(`logo generation failed: ${result.stderr.toString()}`);
}
