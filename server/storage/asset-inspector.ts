import { Worker } from 'node:worker_threads';

export type AssetKind = 'lut' | 'image' | 'audio';

/** What a file turned out to be: its details (LUT size and title, picture width and height) or why it is unusable. */
export type AssetInspection = { ok: true; details: Record<string, string | number> } | { ok: false; error: string };

export interface InspectorRequest {
  kind: AssetKind;
  files: string[];
}

const INSPECTION_TIMEOUT_MS = 60_000;

/**
 * Checks LUT and image files the way the transforms will read them (the .cube parser, the
 * @napi-rs/canvas decoder) in a short-lived worker thread, so the event loop never does it.
 */
export function inspectAssets(kind: AssetKind, files: string[]): Promise<AssetInspection[]> {
  if (files.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./asset-inspector-worker.js', import.meta.url), { workerData: { kind, files } satisfies InspectorRequest });
    let settled = false;
    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => settle(() => {
      void worker.terminate();
      reject(new Error(`inspecting ${files.length} ${kind} file(s) took over ${INSPECTION_TIMEOUT_MS / 1000} s`));
    }), INSPECTION_TIMEOUT_MS);
    worker.once('message', (results: AssetInspection[]) => settle(() => resolve(results)));
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the asset inspector exited with ${code} before answering`))));
  });
}
