import type { MessagePort } from 'node:worker_threads';
import type { PipedProcess } from '../core/process/piped-process.js';

/** What a studio worker thread tells its StudioWorker about its children (next to its own messages). */
export type WorkerChildrenMessage = { type: 'child'; pid: number } | { type: 'child-exit'; pid: number } | { type: 'aborted' };

export function isWorkerChildrenMessage(message: unknown): message is WorkerChildrenMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === 'child' || type === 'child-exit' || type === 'aborted';
}

/**
 * The ffmpeg children of one studio worker thread. On the parent's `abort` message every child is
 * SIGKILLed and reaped before `aborted` is answered, and no child starts after it. The handshake is
 * what makes cancelling exact: a thread ended mid-spawn can leave a child that set its parent-death
 * signal too late to receive it, whereas a message is only handled once a spawn call has returned.
 */
export class WorkerChildren {
  private readonly children = new Set<PipedProcess>();
  private aborted = false;

  constructor(private readonly port: MessagePort, private readonly onAbort: () => void = () => {}) {
    port.on('message', (message: { type?: string }) => {
      if (message?.type === 'abort') void this.abort();
    });
  }

  /** Adopts a child just opened; one opened after the abort is killed at once and the caller's run fails. */
  add(child: PipedProcess): PipedProcess {
    const pid = child.process.pid;
    if (this.aborted) {
      void child.close();
      throw new Error('cancelled');
    }
    this.children.add(child);
    if (pid !== undefined) this.port.postMessage({ type: 'child', pid } satisfies WorkerChildrenMessage);
    void child.exited.then(() => {
      this.children.delete(child);
      if (pid !== undefined) this.port.postMessage({ type: 'child-exit', pid } satisfies WorkerChildrenMessage);
    });
    return child;
  }

  private async abort(): Promise<void> {
    this.aborted = true;
    this.onAbort();
    await Promise.all([...this.children].map((child) => child.close()));
    this.port.postMessage({ type: 'aborted' } satisfies WorkerChildrenMessage);
  }
}

/** Calls `run` with each run's data the parent sends (StudioWorker sends one run at a time, the next only after the answer). */
export function onRunMessage<Data>(port: MessagePort, run: (data: Data) => void): void {
  port.on('message', (message: { type?: string; data?: unknown }) => {
    if (message?.type === 'run') run(message.data as Data);
  });
}
