import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A script the pages carry inline, and the CSP source that allows exactly it. */
export interface InlinePageScript {
  source: string;
  /** `'sha256-…'` for the CSP's script-src: this script and no other inline one runs. */
  cspSource: string;
}

/**
 * The watch and embed pages' early WHEP start (client/src/watch-early.ts, bundled by the build into
 * dist/web/watch-early.js), read once: inline in the page's head it runs as the HTML is parsed, so
 * the offer does not wait for any script to be fetched. Undefined when the build has no bundle (the
 * page's own module then starts the session, as it always can).
 */
export async function loadEarlyWhepScript(projectRoot: string): Promise<InlinePageScript | undefined> {
  const source = await readFile(path.join(projectRoot, 'dist', 'web', 'watch-early.js'), 'utf8').catch(() => undefined);
  if (source === undefined) return undefined;
  // Inline, the text must not end its own <script> element.
  if (/<\/script/i.test(source)) throw new Error('dist/web/watch-early.js contains "</script": it cannot be inlined');
  return { source, cspSource: `'sha256-${createHash('sha256').update(source).digest('base64')}'` };
}
