import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { gpuThreadUrl } from './webgpu-device.js';
import type { GpuHubMessage, GpuHubReport, GpuThreadData } from './webgpu-protocol.js';

/**
 * The process's shared GPU thread, started by the main thread: one Dawn device serves every stream
 * worker (a device is a JavaScript object of the thread that made it, so the workers reach it through
 * ports rather than sharing it). A worker gets a port from connection() in its workerData and calls
 * WebgpuDevice.useHub(port); its frames then go through shared memory as with a thread of its own.
 * Dawn loads only when a worker first opens the device.
 */
export class WebgpuHub {
  private static instance: WebgpuHub | undefined;
  /** Open devices (0 or 1) and connected chain threads, as the GPU thread last reported them. */
  devices = 0;
  clients = 0;
  adapter: string | undefined;
  private readonly worker: Worker;
  private isClosed = false;

  /** The process's hub, started on first use. */
  static shared(): WebgpuHub {
    if (!WebgpuHub.instance || WebgpuHub.instance.isClosed) WebgpuHub.instance = new WebgpuHub();
    return WebgpuHub.instance;
  }

  /** The hub if one was started (for /metrics), without starting one. */
  static current(): WebgpuHub | undefined {
    return WebgpuHub.instance?.isClosed === false ? WebgpuHub.instance : undefined;
  }

  private constructor() {
    // Mesa's EGL reads this from the environment the thread starts with (the software adapter needs no display).
    process.env.EGL_PLATFORM ??= 'surfaceless';
    this.worker = new Worker(gpuThreadUrl(), { workerData: {} satisfies GpuThreadData, execArgv: [] });
    // It never keeps the process alive: the server's close() ends the streams, and their devices with them.
    this.worker.unref();
    this.worker.on('message', (report: GpuHubReport) => {
      if (report.type !== 'usage') return;
      this.devices = report.devices;
      this.clients = report.clients;
      this.adapter = report.adapter;
    });
    // A thread that died takes its device with it: its clients see their frames fail and move to the CPU; the next stream gets a new hub.
    this.worker.on('exit', () => {
      this.isClosed = true;
      this.devices = 0;
      this.clients = 0;
    });
  }

  /** A port for one chain thread, to pass in its workerData (with transferList). */
  connection(): MessagePort {
    const channel = new MessageChannel();
    this.worker.postMessage({ type: 'listen', port: channel.port1 } satisfies GpuHubMessage, [channel.port1]);
    return channel.port2;
  }

  /** Destroys the device and ends the thread (after the streams have closed); terminated if it does not end within 5 s. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'shutdown' } satisfies GpuHubMessage);
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
