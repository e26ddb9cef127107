import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { RecordingRow } from './recording-catalog.js';

export const manifestSchema = z.object({
  version: z.literal(1),
  id: z.string().min(1),
  streamId: z.string().nullable(),
  title: z.string(),
  state: z.enum(['recording', 'complete', 'recovered', 'imported']),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationS: z.number().min(0),
  /** The publisher's video codec (what the original segments hold), once known. */
  originalCodec: z.enum(['H264', 'VP8']).nullable(),
  hasAudio: z.boolean(),
  segmentS: z.number().positive(),
  updatedAt: z.string(),
});

export type RecordingManifestData = z.infer<typeof manifestSchema>;

/**
 * `manifest.json` in a recording's folder: human-readable and enough to rebuild the catalog row. It is
 * rewritten whole (temporary file, fsync, rename) so a crash leaves the old or the new one, never half.
 */
export class RecordingManifest {
  static readonly FILE_NAME = 'manifest.json';

  static write(dir: string, recording: RecordingRow, media: { originalCodec: 'H264' | 'VP8' | null; hasAudio: boolean; segmentS: number }): void {
    const data: RecordingManifestData = { version: 1, ...recording, ...media, updatedAt: new Date().toISOString() };
    const target = path.join(dir, RecordingManifest.FILE_NAME);
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, `${JSON.stringify(data, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, target);
  }

  /** Reads and validates a manifest; throws naming the file and the problem. */
  static read(dir: string): RecordingManifestData {
    const file = path.join(dir, RecordingManifest.FILE_NAME);
    const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    return parsed.data;
  }
}
