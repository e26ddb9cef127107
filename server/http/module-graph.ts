import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Relative static imports in compiled ES modules (`from './x.js'`, `import '../y.js'`); type-only imports are gone after tsc. */
const RELATIVE_IMPORT = /(?:\bfrom|\bimport)\s*['"](\.{1,2}\/[^'"]+\.js)['"]/g;

/**
 * The URLs of every module a page's entry module imports, directly or not (under `urlPrefix`,
 * served from `webRoot`), so the page can preload the whole graph at once: without it the browser
 * learns each level only after fetching the one above (four round trips before a watch page can
 * start its WHEP offer). A file that cannot be read is left out; the browser then fetches it as before.
 */
export async function moduleGraphUrls(webRoot: string, urlPrefix: string, entry: string): Promise<string[]> {
  const found = new Set<string>();
  const visit = async (relativePath: string): Promise<void> => {
    const source = await readFile(path.join(webRoot, relativePath), 'utf8').catch(() => undefined);
    if (source === undefined) return;
    const imports = [...source.matchAll(RELATIVE_IMPORT)].map((match) => path.posix.join(path.posix.dirname(relativePath), match[1]!));
    const fresh = imports.filter((imported) => !found.has(imported));
    for (const imported of fresh) found.add(imported);
    await Promise.all(fresh.map(visit));
  };
  await visit(entry);
  found.delete(entry);
  return [...found].sort().map((relativePath) => `${urlPrefix}${relativePath}`);
}
