import { parentPort, workerData } from 'node:worker_threads';
import { PocketSphinxRecognizer } from './pocketsphinx-recognizer.js';
import type { PocketSphinxInput, PocketSphinxOutput, PocketSphinxWorkerData } from './pocketsphinx-messages.js';

// One worker thread per ASR stream: decoding is CPU-bound and must not block the caller's thread.
const port = parentPort!;
const post = (message: PocketSphinxOutput): void => port.postMessage(message);
const settings = workerData as PocketSphinxWorkerData;

let recognizer: PocketSphinxRecognizer;
try {
  recognizer = new PocketSphinxRecognizer(settings, (kind, result) => post({ type: kind, result }));
} catch (error) {
  // A missing model or library will fail again on reopening: not retryable.
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error), retryable: false });
  process.exit(0);
}
post({ type: 'ready' });

let processed = 0;
port.on('message', (message: PocketSphinxInput) => {
  switch (message.type) {
    case 'audio':
      recognizer.write(message.pcm);
      processed += message.pcm.length;
      post({ type: 'processed', samples: processed });
      return;
    case 'cancel':
      recognizer.cancel();
      return;
    case 'adapt': {
      const { file } = message;
      recognizer.adapt(file, (error) => post({ type: 'adapted', file, ...(error ? { error: error.message } : {}) }));
      return;
    }
    case 'end':
      recognizer.finish();
      post({ type: 'ended', stats: recognizer.stats });
      recognizer.close();
      port.close();
      return;
    case 'crash':
      throw new Error('crash requested by the caller');
  }
});
