// The thread that owns the WebGPU device (Dawn). Dawn's objects belong to the JavaScript thread
// that made them and every GPU answer is a promise, while Transform.apply() is synchronous: so each
// chain thread hands frames here through shared memory and blocks until they come back. One such
// thread per process (`WebgpuHub`) serves every stream worker with one device; a thread that runs a
// chain without a hub (`livefx render`, tests) starts one of its own, serving only itself.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CONTROL, OP_PARAMETERS, OP_SLOTS, OPS, type GpuClientData, type GpuHubMessage, type GpuHubReport, type GpuReply, type GpuRequest, type GpuThreadData } from './webgpu-protocol.js';
import { FRAME_INFO_BYTES, KERNELS, WORKGROUP_SIZE, type KernelName } from './webgpu-shaders.js';

const data = workerData as GpuThreadData;
/** Atomics.waitAsync (Node ≥ 16; in the ES2024 library, newer than ours): waits without blocking this thread's event loop, where Dawn's promises settle. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/** Every object create() returned: Dawn's instance must outlive its device (else the process crashes), so none is dropped while the thread runs. */
const instances: GPU[] = [];
/** The one device of this thread, shared by its clients; undefined until the first open and after a loss (the next open makes a new one). */
let device: GPUDevice | undefined;
let deviceSoftware = false;
let adapterName: string | undefined;
/** Opens run one at a time, so two clients asking at once get the same device. */
let opening: Promise<unknown> = Promise.resolve();
/** Compiled once per device, shared by every client's kernels. */
const pipelines = new Map<KernelName, GPUComputePipeline>();
const clients = new Set<GpuClient>();

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The shared thread tells the main thread what it holds (for /metrics); a client's own thread has no one to tell. */
function reportUsage(): void {
  if (data.client) return;
  parentPort?.postMessage({ type: 'usage', devices: device ? 1 : 0, clients: clients.size, adapter: adapterName } satisfies GpuHubReport);
}

/** A lost device or a GPU error reaches every client: they share the device, so every chain moves to the CPU. */
function deviceFailed(failed: GPUDevice, message: string): void {
  if (device === failed) {
    device = undefined;
    adapterName = undefined;
    pipelines.clear();
    reportUsage();
  }
  for (const client of clients) client.port.postMessage({ type: 'lost', message } satisfies GpuReply);
}

async function openDevice(allowSoftware: boolean): Promise<GpuReply> {
  if (device) {
    if (deviceSoftware && !allowSoftware) return { type: 'unavailable', reason: `only a software adapter (${adapterName})` };
    return { type: 'opened', adapter: adapterName!, software: deviceSoftware };
  }
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (error) {
    return { type: 'unavailable', reason: `the optional package webgpu is not installed or does not load here (${messageOf(error)})` };
  }
  Object.assign(globalThis, webgpu.globals);
  // The platform's own backend (Vulkan, Metal, D3D12) first; Mesa's OpenGL ES in compatibility mode only where software is allowed.
  const attempts: { flags: string[]; featureLevel: 'core' | 'compatibility'; software: boolean }[] = [{ flags: [], featureLevel: 'core', software: false }];
  if (allowSoftware) attempts.push({ flags: ['backend=opengles'], featureLevel: 'compatibility', software: true });
  const refused: string[] = [];
  for (const attempt of attempts) {
    const gpu = webgpu.create(attempt.flags);
    const adapter = await gpu.requestAdapter({ featureLevel: attempt.featureLevel, powerPreference: 'high-performance' });
    if (!adapter) {
      refused.push(attempt.software ? 'no OpenGL ES adapter (Mesa, EGL_PLATFORM=surfaceless)' : 'no Vulkan/Metal/D3D12 adapter');
      continue;
    }
    const description = describe(adapter);
    const software = attempt.software || isSoftware(adapter, description);
    if (software && !allowSoftware) {
      refused.push(`only a software adapter (${description})`);
      continue;
    }
    instances.push(gpu);
    const opened = await adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
    device = opened;
    deviceSoftware = software;
    adapterName = `${description}${attempt.software ? ' (software, OpenGL ES)' : ''}`;
    // A validation error (a shader or binding bug) would otherwise leave frames wrong without a word.
    opened.onuncapturederror = (event) => deviceFailed(opened, `GPU error: ${event.error.message}`);
    opened.lost.then((lost) => deviceFailed(opened, `GPU device lost: ${lost.message}`)).catch(() => {});
    reportUsage();
    return { type: 'opened', adapter: adapterName, software };
  }
  return { type: 'unavailable', reason: refused.join('; ') };
}

function describe(adapter: GPUAdapter): string {
  const { vendor, architecture, device: name, description } = adapter.info;
  return [description || name, vendor, architecture].filter(Boolean).join(' / ') || 'unnamed adapter';
}

/** CPU rasterisers (llvmpipe, lavapipe, SwiftShader) can hide behind a Vulkan or GL adapter that does not call itself a fallback. */
function isSoftware(adapter: GPUAdapter, description: string): boolean {
  const fallback = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return fallback === true || /llvmpipe|lavapipe|swiftshader|software/i.test(description);
}

function currentDevice(): GPUDevice {
  if (!device) throw new Error('the GPU device is not open');
  return device;
}

function pipelineFor(kernel: KernelName): GPUComputePipeline {
  let pipeline = pipelines.get(kernel);
  if (!pipeline) {
    const gpu = currentDevice();
    const module = gpu.createShaderModule({ code: KERNELS[kernel].source, label: kernel });
    pipeline = gpu.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: kernel });
    pipelines.set(kernel, pipeline);
  }
  return pipeline;
}

interface KernelResource {
  pipeline: GPUComputePipeline;
  tables: GPUBuffer[];
  /** The per-frame parameter's uniform and its staging words, for kernels that take one. */
  parameter: { buffer: GPUBuffer; words: Uint32Array<ArrayBuffer> } | undefined;
  /** Bind groups reading A and writing B, and the reverse; rebuilt when the frame buffers change. */
  bindings: [GPUBindGroup, GPUBindGroup] | undefined;
}

/** The frame's two ping-pong buffers, the readback buffer and the geometry uniform, sized for `capacity` bytes. */
interface FrameBuffers {
  capacity: number;
  ping: GPUBuffer;
  pong: GPUBuffer;
  readback: GPUBuffer;
  info: GPUBuffer;
  upload: Uint8Array<ArrayBuffer>;
}

/** One chain thread served by this thread: its control block, its kernels and its frame buffers on the shared device. */
class GpuClient {
  readonly port: MessagePort;
  private readonly control: Int32Array;
  private readonly kernels = new Map<number, KernelResource>();
  private frameBuffers: FrameBuffers | undefined;
  private readonly info = new Uint32Array(FRAME_INFO_BYTES / 4);
  private frameBytes = new Uint8Array(new SharedArrayBuffer(0));
  private lastWidth = 0;
  private lastHeight = 0;
  private dispatch = { x: 0, y: 0 };

  constructor(connection: GpuClientData) {
    this.control = new Int32Array(connection.control);
    this.port = connection.port;
    clients.add(this);
    this.port.on('message', (message: GpuRequest) => void this.onRequest(message));
    // A chain thread that ended without closing (it crashed, it was terminated): its frames stop here too.
    this.port.on('close', () => {
      Atomics.store(this.control, CONTROL.closing, 1);
      Atomics.add(this.control, CONTROL.request, 1);
      Atomics.notify(this.control, CONTROL.request);
    });
    reportUsage();
  }

  /** Serves frames until the client closes; then its GPU buffers go. */
  async serve(): Promise<void> {
    try {
      await this.serveFrames();
    } finally {
      for (const id of [...this.kernels.keys()]) this.release(id);
      this.destroyFrameBuffers();
      this.port.close();
      clients.delete(this);
      reportUsage();
    }
  }

  private reply(message: GpuReply): void {
    this.port.postMessage(message);
    Atomics.store(this.control, CONTROL.reply, 1);
    Atomics.notify(this.control, CONTROL.reply);
  }

  private async onRequest(message: GpuRequest): Promise<void> {
    try {
      if (message.type === 'open') {
        const answer = opening.then(() => openDevice(message.allowSoftware));
        opening = answer.catch(() => undefined);
        return this.reply(await answer);
      }
      if (message.type === 'release') return this.release(message.id);
      if (message.type === 'destroy') return device?.destroy();
      if (message.type === 'frames') this.frameBytes = new Uint8Array(message.buffer);
      else this.createKernel(message.id, message.kernel, message.tables);
      this.reply({ type: 'ok' });
    } catch (error) {
      this.reply({ type: 'error', message: messageOf(error) });
    }
  }

  private createKernel(id: number, kernel: KernelName, tables: Uint8Array[]): void {
    const gpu = currentDevice();
    const buffers = tables.map((table) => {
      const size = Math.max(4, Math.ceil(table.byteLength / 4) * 4);
      const buffer = gpu.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      // Writes are whole words: a table of another length goes through a padded copy.
      const words = table.byteLength === size ? table : new Uint8Array(size);
      if (words !== table) words.set(table);
      // A structured clone: its own ArrayBuffer, never shared.
      gpu.queue.writeBuffer(buffer, 0, words as Uint8Array<ArrayBuffer>, 0, size);
      return buffer;
    });
    this.release(id);
    const parameter = KERNELS[kernel].parameter ? { buffer: gpu.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }), words: new Uint32Array(4) } : undefined;
    this.kernels.set(id, { pipeline: pipelineFor(kernel), tables: buffers, parameter, bindings: undefined });
  }

  private release(id: number): void {
    const resource = this.kernels.get(id);
    if (!resource) return;
    this.kernels.delete(id);
    for (const buffer of resource.tables) buffer.destroy();
    resource.parameter?.buffer.destroy();
  }

  private bindingsOf(resource: KernelResource, buffers: FrameBuffers): [GPUBindGroup, GPUBindGroup] {
    if (resource.bindings) return resource.bindings;
    const gpu = currentDevice();
    const group = (input: GPUBuffer, output: GPUBuffer): GPUBindGroup =>
      gpu.createBindGroup({
        layout: resource.pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: buffers.info } },
          { binding: 1, resource: { buffer: input } },
          { binding: 2, resource: { buffer: output } },
          ...(resource.parameter ? [{ binding: 3, resource: { buffer: resource.parameter.buffer } }] : []),
          ...resource.tables.map((buffer, index) => ({ binding: (resource.parameter ? 4 : 3) + index, resource: { buffer } })),
        ],
      });
    resource.bindings = [group(buffers.ping, buffers.pong), group(buffers.pong, buffers.ping)];
    return resource.bindings;
  }

  private destroyFrameBuffers(): void {
    const buffers = this.frameBuffers;
    this.frameBuffers = undefined;
    if (buffers) for (const buffer of [buffers.ping, buffers.pong, buffers.readback, buffers.info]) buffer.destroy();
  }

  /** Buffers for a frame of `bytes` (rounded up to whole words); kept while frames do not grow. */
  private ensureFrameBuffers(bytes: number): FrameBuffers {
    if (this.frameBuffers && this.frameBuffers.capacity >= bytes) return this.frameBuffers;
    this.destroyFrameBuffers();
    const gpu = currentDevice();
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    this.frameBuffers = {
      capacity: bytes,
      ping: gpu.createBuffer({ size: bytes, usage: storage }),
      pong: gpu.createBuffer({ size: bytes, usage: storage }),
      readback: gpu.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      info: gpu.createBuffer({ size: FRAME_INFO_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
      upload: new Uint8Array(bytes),
    };
    for (const resource of this.kernels.values()) resource.bindings = undefined;
    this.lastWidth = 0;
    return this.frameBuffers;
  }

  /** One frame: one upload, the queued kernels back to back on the GPU, one readback. */
  private async runFrame(): Promise<void> {
    const gpu = currentDevice();
    const control = this.control;
    const width = control[CONTROL.width]!;
    const height = control[CONTROL.height]!;
    const opCount = control[CONTROL.opCount]!;
    const lumaBytes = width * height;
    const chromaBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
    const totalBytes = lumaBytes + 2 * chromaBytes;
    const words = Math.ceil(totalBytes / 4);
    const buffers = this.ensureFrameBuffers(words * 4);
    if (width !== this.lastWidth || height !== this.lastHeight) {
      const groups = Math.ceil(words / WORKGROUP_SIZE);
      this.dispatch = { x: Math.min(groups, 65535), y: Math.ceil(groups / 65535) };
      this.info.set([width, height, Math.ceil(width / 2), lumaBytes, chromaBytes, totalBytes, this.dispatch.x * WORKGROUP_SIZE, 0]);
      gpu.queue.writeBuffer(buffers.info, 0, this.info);
      this.lastWidth = width;
      this.lastHeight = height;
    }
    // Dawn refuses shared memory as a source: one copy into this thread's own buffer first.
    buffers.upload.set(this.frameBytes.subarray(0, words * 4));
    gpu.queue.writeBuffer(buffers.ping, 0, buffers.upload, 0, words * 4);
    const encoder = gpu.createCommandEncoder();
    let reading = 0;
    for (let index = 0; index < opCount; index++) {
      const slot = OPS + OP_SLOTS * index;
      const resource = this.kernels.get(control[slot]!);
      if (!resource) throw new Error(`GPU kernel ${control[slot]} was released`);
      if (resource.parameter) {
        // Written before the submit, so this frame's dispatch sees it (a kernel runs once per frame).
        for (let word = 0; word < OP_PARAMETERS; word++) resource.parameter.words[word] = control[slot + 1 + word]!;
        gpu.queue.writeBuffer(resource.parameter.buffer, 0, resource.parameter.words);
      }
      const pass = encoder.beginComputePass();
      pass.setPipeline(resource.pipeline);
      pass.setBindGroup(0, this.bindingsOf(resource, buffers)[reading]!);
      pass.dispatchWorkgroups(this.dispatch.x, this.dispatch.y);
      pass.end();
      reading ^= 1;
    }
    encoder.copyBufferToBuffer(reading === 0 ? buffers.ping : buffers.pong, 0, buffers.readback, 0, words * 4);
    gpu.queue.submit([encoder.finish()]);
    await buffers.readback.mapAsync(GPUMapMode.READ, 0, words * 4);
    this.frameBytes.set(new Uint8Array(buffers.readback.getMappedRange(0, words * 4)), 0);
    buffers.readback.unmap();
  }

  private async serveFrames(): Promise<void> {
    const control = this.control;
    let seen = 0;
    for (;;) {
      const waited = waitAsync(control, CONTROL.request, seen);
      if (waited.async) await waited.value;
      if (Atomics.load(control, CONTROL.closing) === 1) return;
      const request = Atomics.load(control, CONTROL.request);
      if (request === seen) continue;
      seen = request;
      let failed = 0;
      try {
        await this.runFrame();
      } catch (error) {
        failed = 1;
        this.port.postMessage({ type: 'error', message: messageOf(error) } satisfies GpuReply);
      }
      Atomics.store(control, CONTROL.failed, failed);
      Atomics.store(control, CONTROL.done, request);
      Atomics.notify(control, CONTROL.done);
    }
  }
}

if (data.client) {
  // A chain thread's own GPU thread: its device goes when its one client does.
  void new GpuClient(data.client).serve().finally(() => {
    device?.destroy();
    device = undefined;
  });
} else {
  // The process's shared GPU thread: chain threads connect through the ports the main thread hands it.
  parentPort?.on('message', (message: GpuHubMessage) => {
    if (message.type === 'shutdown') {
      // The device goes before the thread, and the instances after it (see `instances`).
      device?.destroy();
      device = undefined;
      process.exit(0);
    }
    if (message.type !== 'listen') return;
    message.port.on('message', (connection: GpuHubMessage) => {
      if (connection.type === 'connect') void new GpuClient(connection).serve();
    });
  });
}
