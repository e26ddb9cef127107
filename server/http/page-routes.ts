import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const PAGES: Record<string, string> = { '/': 'index.html', '/publish': 'publish.html', '/watch': 'watch.html', '/operator': 'operator.html', '/review': 'review.html', '/studio': 'studio.html' };

/** The streamer, viewer, operator and highlights-review pages, their compiled scripts, and the two vendor scripts. */
export async function registerPageRoutes(app: FastifyInstance, projectRoot: string): Promise<void> {
  const clientDir = path.join(projectRoot, 'client');
  await app.register(fastifyStatic, { root: path.join(projectRoot, 'dist', 'web'), prefix: '/assets/', decorateReply: false });
  await app.register(fastifyStatic, { root: path.join(clientDir, 'static'), prefix: '/static/', decorateReply: false });
  const hlsScript = path.join(path.dirname(createRequire(import.meta.url).resolve('hls.js')), 'hls.min.js');
  app.get('/vendor/hls.min.js', async (_request, reply) =>
    reply.header('Content-Type', 'text/javascript; charset=utf-8').send(await readFile(hlsScript)),
  );
  for (const [route, file] of Object.entries(PAGES)) {
    app.get(route, async (_request, reply) =>
      reply.header('Content-Type', 'text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(await readFile(path.join(clientDir, file))),
    );
  }
}
