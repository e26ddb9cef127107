import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { InlinePageScript } from './inline-page-script.js';

/** A page's body file, what its shared head (client/page-head.html) is filled with, and the scripts it ends with. */
interface PageEntry {
  file: string;
  title: string;
  /** The page's module, bundled with all it imports (esbuild, at build time) under dist/web/pages: one request, loaded last. */
  module: string;
  stylesheets?: string[];
  /** Classic scripts the module relies on, loaded before it. */
  scripts?: string[];
  /** Classic scripts the module loads itself when it needs them (client/src/classic-script.ts), fetched early. */
  preloads?: string[];
  /** Runs inline in the head, before any script is fetched: the player's WHEP offer (see inline-page-script.ts). */
  earlyWhep?: boolean;
}

const SOCKET_IO = '/socket.io/socket.io.js';
/** Where the compiled client modules (dist/web) are served. */
const ASSETS = '/assets/';

/**
 * One file per page: the modules one by one (15 for the watch page) held the six connections a
 * page gets while the viewer's WHEP offer waited for one of them (up to ~0.5 s under load).
 */
const pageModule = (page: PageEntry): string => `${ASSETS}pages/${page.module}.js`;

const PAGES: Record<string, PageEntry> = {
  '/': { file: 'index.html', title: 'Home', module: 'home-page', scripts: [SOCKET_IO] },
  '/publish': { file: 'publish.html', title: 'Publish', module: 'publish-page', scripts: [SOCKET_IO] },
  // The player loads socket.io and hls.js itself (client/src/classic-script.ts): a WebRTC viewer's first frame waits for neither.
  // Its WHEP offer leaves from the head, while the page's module still loads.
  '/watch': { file: 'watch.html', title: 'Watch', module: 'watch-page', preloads: [SOCKET_IO], earlyWhep: true },
  // The player alone, the one page other sites may frame (LIVEFX_EMBED_ORIGINS).
  '/embed': { file: 'embed.html', title: 'Player', module: 'embed-page', preloads: [SOCKET_IO], earlyWhep: true },
  '/operator': { file: 'operator.html', title: 'Operator', module: 'operator-page', scripts: [SOCKET_IO] },
  '/review': { file: 'review.html', title: 'Highlights review', module: 'review-page' },
  '/studio': { file: 'studio.html', title: 'Studio', module: 'studio-page', stylesheets: ['/static/studio.css'] },
};

/** One head and one ending for every page, so the pages' files hold only their bodies (no inline style, and the one inline script allowed by its hash: CSP stays strict). */
function pageDocument(headTemplate: string, body: string, page: PageEntry, earlyWhep: InlinePageScript | undefined): string {
  // Before the stylesheet, which an inline script after it would wait for.
  const earlyScripts = page.earlyWhep && earlyWhep ? `<script>${earlyWhep.source}</script>\n` : '';
  const stylesheets = [
    ...(page.stylesheets ?? []).map((href) => `<link rel="stylesheet" href="${href}">\n`),
    // The module first: announced only by the body's last tag, it would queue behind the page's images for one of the six connections.
    `<link rel="modulepreload" href="${pageModule(page)}">\n`,
    ...(page.preloads ?? []).map((href) => `<link rel="preload" as="script" href="${href}">\n`),
  ].join('');
  // Deferred: the parser goes on to the module, which loads beside these; they still run first, in order.
  const scripts = (page.scripts ?? []).map((src) => `<script defer src="${src}"></script>\n`).join('');
  const head = headTemplate.replace('{{title}}', page.title).replace('{{earlyScripts}}', () => earlyScripts).replace('{{stylesheets}}', stylesheets);
  return `${head}${body}${scripts}<script type="module" src="${pageModule(page)}"></script>\n</body>\n</html>\n`;
}

/** The streamer, viewer (and embeddable player), operator and highlights-review pages, their compiled scripts, and the two vendor scripts. */
export async function registerPageRoutes(app: FastifyInstance, projectRoot: string, earlyWhep?: InlinePageScript): Promise<void> {
  const clientDir = path.join(projectRoot, 'client');
  const webRoot = path.join(projectRoot, 'dist', 'web');
  await app.register(fastifyStatic, { root: webRoot, prefix: ASSETS, decorateReply: false });
  await app.register(fastifyStatic, { root: path.join(clientDir, 'static'), prefix: '/static/', decorateReply: false });
  const hlsScript = path.join(path.dirname(createRequire(import.meta.url).resolve('hls.js')), 'hls.min.js');
  app.get('/vendor/hls.min.js', async (_request, reply) =>
    reply.header('Content-Type', 'text/javascript; charset=utf-8').send(await readFile(hlsScript)),
  );
  const headFile = path.join(clientDir, 'page-head.html');
  for (const [route, page] of Object.entries(PAGES)) {
    app.get(route, async (_request, reply) => {
      const [head, body] = await Promise.all([readFile(headFile, 'utf8'), readFile(path.join(clientDir, page.file), 'utf8')]);
      return reply.header('Content-Type', 'text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(pageDocument(head, body, page, earlyWhep));
    });
  }
}
