import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Frame } from '../frame.js';
import type { TransformBatch } from '../transform.js';
import { CONTROL, CONTROL_SLOTS, MAX_OPS, OP_SLOTS, OPS, type GpuHubMessage, type GpuReply, type GpuRequest, type GpuThreadData } from './webgpu-protocol.js';
import type { KernelName } from './webgpu-shaders.js';

/** Loading Dawn (132 MB) and compiling a shader on a software rasteriser can take seconds on a loaded machine. */
const SETUP_TIMEOUT_MS = 60_000;
/** A frame the GPU has not returned by then is not coming back. */
const FRAME_TIMEOUT_MS = 10_000;

/** The built GPU thread: under vitest this module runs from its .ts source, and a thread needs JavaScript. */
export function gpuThreadUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./webgpu-thread.js', import.meta.url);
  const built = new URL('../../dist/transforms/webgpu/webgpu-thread.js', import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new Error(`the WebGPU thread is not built (${fileURLToPath(built)}): run npm run build`);
  return built;
}

let deviceNodePresent: boolean | undefined;

/** Whether the machine shows a GPU at all: a cheap test before loading Dawn just to find none (looked up once per thread; the server asks at every stream's start). */
export function gpuDeviceNodePresent(): boolean {
  if (deviceNodePresent !== undefined) return deviceNodePresent;
  const listed = (folder: string, pattern: RegExp): boolean => {
    try {
      return readdirSync(folder).some((name) => pattern.test(name));
    } catch {
      return false;
    }
  };
  return (deviceNodePresent = listed('/dev/dri', /^renderD\d+$/) || listed('/dev', /^nvidia\d+$/) || process.platform === 'darwin' || process.platform === 'win32');
}

let threadDevice: WebgpuDevice | undefined;
/** This thread's way to the process's shared GPU thread (WebgpuHub), when its creator gave it one. */
let hubConnection: MessagePort | undefined;
let threadDeviceRefusal: string | undefined;
let hardwareProbe: boolean | undefined;

/**
 * The calling thread's handle on its GPU: a thread of its own that owns a Dawn device and runs the
 * WGSL kernels. GPU transforms queue their kernel on it in apply(); the chain calls flush() once a
 * run of GPU transforms ends, which uploads the frame once, runs the kernels back to back and reads
 * the frame back once. One per chain thread (a stream worker, a render); stream workers' devices are
 * served by the process's one shared GPU thread and device (WebgpuHub), a render's by a thread of its own.
 */
export class WebgpuDevice implements TransformBatch {
  /** The adapter in use, as an operator reads it (e.g. "NVIDIA H100 / nvidia / hopper"). */
  readonly adapter: string;
  readonly software: boolean;
  /** Frames sent to the GPU and back so far: one per run of consecutive GPU transforms per frame. */
  roundTrips = 0;
  /** The GPU thread of this device alone; undefined when the shared GPU thread serves it. */
  private readonly worker: Worker | undefined;
  private readonly port: MessagePort;
  private readonly control: Int32Array;
  private frameBytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private nextKernelId = 1;
  private requests = 0;
  private queued = 0;
  private frame: Frame | undefined;
  private lost: string | undefined;
  private closed = false;

  /**
   * The calling thread's device, opened on first use: a hardware adapter where there is one, else
   * the software one (Mesa's OpenGL ES) — for tests and explicit LIVEFX_TRANSFORM_BACKEND=webgpu.
   * Throws, saying why, where no adapter exists at all.
   */
  static forThisThread(): WebgpuDevice {
    if (threadDevice) return threadDevice;
    if (threadDeviceRefusal) throw new Error(threadDeviceRefusal);
    const opened = WebgpuDevice.open(true);
    if (typeof opened === 'string') {
      threadDeviceRefusal = `no WebGPU adapter: ${opened}`;
      throw new Error(threadDeviceRefusal);
    }
    threadDevice = opened;
    return opened;
  }

  /** For LIVEFX_TRANSFORM_BACKEND=auto: whether a hardware (non-fallback, non-software) adapter exists; it becomes this thread's device. */
  static hardwareAvailable(): boolean {
    if (hardwareProbe !== undefined) return hardwareProbe;
    if (threadDevice) return (hardwareProbe = !threadDevice.software);
    if (!gpuDeviceNodePresent()) return (hardwareProbe = false);
    const opened = WebgpuDevice.open(false);
    hardwareProbe = typeof opened !== 'string';
    if (typeof opened !== 'string') threadDevice = opened;
    return hardwareProbe;
  }

  /**
   * Devices of this thread are served by the process's shared GPU thread (one device for every stream
   * worker) through `port`, which the main thread got from WebgpuHub.connection() and handed this thread.
   */
  static useHub(port: MessagePort): void {
    port.unref();
    hubConnection = port;
  }

  /** Closes the calling thread's device if it has one (a stream worker's last step). */
  static closeThisThread(): void {
    threadDevice?.close();
  }

  /** A device, or why there is none. */
  private static open(allowSoftware: boolean): WebgpuDevice | string {
    // Mesa's EGL reads this from the real environment: a worker thread's process.env is its own copy, so the server's and the CLI's main threads set it.
    if (allowSoftware) process.env.EGL_PLATFORM ??= 'surfaceless';
    let device: WebgpuDevice;
    try {
      device = new WebgpuDevice();
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    try {
      const answer = device.call({ type: 'open', allowSoftware });
      if (answer.type === 'opened') {
        Object.assign(device, { adapter: answer.adapter, software: answer.software });
        return device;
      }
      device.close();
      return answer.type === 'unavailable' || answer.type === 'error' ? (answer.type === 'unavailable' ? answer.reason : answer.message) : 'no answer';
    } catch (error) {
      device.close();
      return error instanceof Error ? error.message : String(error);
    }
  }

  private constructor() {
    this.adapter = '';
    this.software = true;
    const shared = new SharedArrayBuffer(CONTROL_SLOTS * 4);
    this.control = new Int32Array(shared);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.unref();
    if (hubConnection) {
      hubConnection.postMessage({ type: 'connect', control: shared, port: channel.port2 } satisfies GpuHubMessage, [channel.port2]);
      this.worker = undefined;
      return;
    }
    this.worker = new Worker(gpuThreadUrl(), {
      workerData: { client: { control: shared, port: channel.port2 } } satisfies GpuThreadData,
      transferList: [channel.port2],
      // The host's flags are not the thread's business, and some make a Worker refuse to start.
      execArgv: [],
    });
    // The GPU thread never keeps a process alive by itself: a render ends when its frames do.
    this.worker.unref();
    this.worker.on('error', (error) => {
      this.lost ??= `the GPU thread failed: ${error.message}`;
    });
  }

  /** Why the GPU stopped processing frames (lost device, no answer, a failed frame); undefined while it works. */
  get failure(): string | undefined {
    return this.lost;
  }

  /** What a GPU transform shows the operator once the device has failed. */
  operatorNote(): string | undefined {
    return this.lost ? `${this.lost}: this transform changes nothing now` : undefined;
  }

  /** Uploads a kernel's tables; the id names it in queue() and release(). Blocks until the GPU thread has them. */
  createKernel(kernel: KernelName, tables: Uint8Array[]): number {
    const id = this.nextKernelId++;
    this.replaceKernel(id, kernel, tables);
    return id;
  }

  /** New tables (new parameters) for an existing kernel id. */
  replaceKernel(id: number, kernel: KernelName, tables: Uint8Array[]): void {
    const answer = this.call({ type: 'kernel', id, kernel, tables });
    if (answer.type === 'error') throw new Error(`GPU kernel ${kernel}: ${answer.message}`);
  }

  releaseKernel(id: number): void {
    if (!this.closed) this.port.postMessage({ type: 'release', id } satisfies GpuRequest);
  }

  /** Queues a kernel for `frame`, with its per-frame parameters if it takes them; the pixels change at the next flush(). */
  queue(frame: Frame, kernelId: number, parameter0 = 0, parameter1 = 0, parameter2 = 0, parameter3 = 0): void {
    if (this.frame !== frame) this.flush();
    if (this.queued === MAX_OPS) this.flush();
    this.frame = frame;
    const slot = OPS + OP_SLOTS * this.queued;
    const control = this.control;
    control[slot] = kernelId;
    control[slot + 1] = parameter0;
    control[slot + 2] = parameter1;
    control[slot + 3] = parameter2;
    control[slot + 4] = parameter3;
    this.queued++;
  }

  /** Fault injection: destroys the device as a driver reset would; the next frames fail and `failure` says so. */
  destroyForFaultInjection(): void {
    if (!this.closed) this.port.postMessage({ type: 'destroy' } satisfies GpuRequest);
  }

  /** Runs the queued kernels: one upload, the kernels back to back, one readback, while this thread waits. */
  flush(): void {
    const frame = this.frame;
    if (!frame || this.queued === 0) return;
    this.frame = undefined;
    const count = this.queued;
    this.queued = 0;
    // A lost GPU leaves frames as they are (the transforms' notes say so) rather than stopping the stream.
    if (this.lost) return;
    const { width, height, y, u, v } = frame;
    const total = y.length + u.length + v.length;
    if (this.frameBytes.length < Math.ceil(total / 4) * 4) this.growFrameBytes(total);
    const bytes = this.frameBytes;
    bytes.set(y, 0);
    bytes.set(u, y.length);
    bytes.set(v, y.length + u.length);
    const control = this.control;
    control[CONTROL.width] = width;
    control[CONTROL.height] = height;
    control[CONTROL.opCount] = count;
    const request = ++this.requests;
    this.roundTrips++;
    Atomics.store(control, CONTROL.request, request);
    Atomics.notify(control, CONTROL.request);
    const deadline = performance.now() + FRAME_TIMEOUT_MS;
    for (let done = Atomics.load(control, CONTROL.done); done !== request; done = Atomics.load(control, CONTROL.done)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.lost = `the GPU returned no frame within ${FRAME_TIMEOUT_MS} ms`;
        return;
      }
      Atomics.wait(control, CONTROL.done, done, left);
    }
    if (control[CONTROL.failed] === 1) {
      this.lost = `GPU frame failed: ${this.nextMessage()}`;
      return;
    }
    y.set(bytes.subarray(0, y.length));
    u.set(bytes.subarray(y.length, y.length + u.length));
    v.set(bytes.subarray(y.length + u.length, total));
    this.noteLoss();
  }

  /** A GPU error or a lost device reported since the last frame (the port is empty almost always). */
  private noteLoss(): void {
    for (let received = receiveMessageOnPort(this.port); received; received = receiveMessageOnPort(this.port)) {
      const message = (received as { message: GpuReply }).message;
      if (message.type === 'lost' || message.type === 'error') this.lost ??= message.message;
    }
  }

  /** Stops serving this thread: its own GPU thread and device go, or the shared thread drops its buffers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (threadDevice === this) threadDevice = undefined;
    Atomics.store(this.control, CONTROL.closing, 1);
    Atomics.add(this.control, CONTROL.request, 1);
    Atomics.notify(this.control, CONTROL.request);
    this.port.close();
    void this.worker?.terminate();
  }

  private growFrameBytes(total: number): void {
    const shared = new SharedArrayBuffer(Math.ceil(total / 4) * 4);
    const answer = this.call({ type: 'frames', buffer: shared });
    if (answer.type === 'error') throw new Error(answer.message);
    this.frameBytes = new Uint8Array(shared);
  }

  /** Sends a setup request and blocks until the GPU thread answers. */
  private call(request: GpuRequest): GpuReply {
    if (this.closed) throw new Error('the GPU device is closed');
    Atomics.store(this.control, CONTROL.reply, 0);
    this.port.postMessage(request);
    if (Atomics.wait(this.control, CONTROL.reply, 0, SETUP_TIMEOUT_MS) === 'timed-out') throw new Error(`the GPU thread did not answer ${request.type} within ${SETUP_TIMEOUT_MS / 1000} s`);
    return this.nextReply();
  }

  /** The next answer on the port, noting a lost device on the way. */
  private nextReply(): GpuReply {
    const deadline = performance.now() + SETUP_TIMEOUT_MS;
    for (;;) {
      const received = receiveMessageOnPort(this.port) as { message: GpuReply } | undefined;
      if (received?.message.type === 'lost') {
        this.lost = received.message.message;
        continue;
      }
      if (received) return received.message;
      if (performance.now() > deadline) return { type: 'error', message: 'the GPU thread signalled an answer it never sent' };
      // The answer is posted before the signal; a short wait covers the delivery.
      Atomics.wait(this.control, CONTROL.closing, 0, 1);
    }
  }

  private nextMessage(): string {
    const answer = this.nextReply();
    return answer.type === 'error' ? answer.message : answer.type;
  }
}
