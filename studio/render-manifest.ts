import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** What every studio output says about itself, beside the file (manifest.json) and inside it (MP4 tags). */
export interface RenderManifest {
  type: 'livefx-studio-render';
  render_id: string;
  prompt: string | null;
  template: string | null;
  storyboard_id: string | null;
  seed: number;
  style: string;
  aspect: string;
  quality: 'preview' | 'high';
  sources: ({ recording_id: string; in: number; out: number; sha256: string } | { asset_id: string; sha256: string })[];
  engine: { livefx: string; compositor: string; ffmpeg: string };
  /** The look stylizes the picture: the output carries a visible "AI-edited" label. */
  ai_edited: boolean;
  label: string | null;
  rendered_at: string;
  output: { file: string; sha256: string; bytes: number; duration: number; width: number; height: number };
  /** The Ed25519 signature (core/provenance); null when the server has no signer. */
  signature: unknown;
}

/** The manifest's fields for the provenance signer, which adds `file`, `sha256`, `size` and the signature. */
export function unsignedFields(manifest: RenderManifest): Record<string, unknown> {
  const { signature: _unsigned, ...fields } = manifest;
  return fields;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
