import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../core/config.js';
import { LivefxServer } from '../../server/livefx-server.js';
import { makeHighlightShow } from './highlight-fixture.js';
import { ADMIN_TOKEN } from './livefx-process.js';

/** A server in this process over a fresh scratch folder that also holds the highlight show's video. */
export interface ShowServer {
  scratch: string;
  dataDir: string;
  showFile: string;
  server: LivefxServer;
  url: string;
  /** Closes the server, then removes the scratch folder. */
  close(): Promise<void>;
}

/** Starts a LivefxServer on a loopback port with LIVEFX_ADMIN_TOKEN set and its data in `<scratch>/<dataDirName>` (the studio's API and CLI tests). */
export async function startShowServer(name: string, dataDirName = 'data'): Promise<ShowServer> {
  const scratch = await mkdtemp(path.join(tmpdir(), `livefx-${name}-`));
  const dataDir = path.join(scratch, dataDirName);
  let server: LivefxServer | undefined;
  try {
    const showFile = await makeHighlightShow(scratch);
    server = new LivefxServer({ config: loadConfig({ HOST: '127.0.0.1', PORT: '0', LIVEFX_DATA_DIR: dataDir, LIVEFX_LOG_LEVEL: 'silent', LIVEFX_ADMIN_TOKEN: ADMIN_TOKEN }), log: pino({ level: 'silent' }) });
    const url = (await server.start()).url;
    const started = server;
    const close = async (): Promise<void> => {
      await started.close();
      await rm(scratch, { recursive: true, force: true });
    };
    return { scratch, dataDir, showFile, server, url, close };
  } catch (error) {
    // A failed start leaves nothing behind: the test file's afterAll has no scratch folder to remove.
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}
