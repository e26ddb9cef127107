// The thread that owns the WebGPU device (Dawn). Dawn's objects belong to the JavaScript thread
// that made them and every GPU answer is a promise, while Transform.apply() is synchronous: so the
// chain's thread hands frames here through shared memory and blocks until they come back.
import { workerData } from 'node:worker_threads';
import { CONTROL, OP_PARAMETERS, OP_SLOTS, OPS, type GpuReply, type GpuRequest, type GpuThreadData } from './webgpu-protocol.js';
import { FRAME_INFO_BYTES, KERNELS, WORKGROUP_SIZE, type KernelName } from './webgpu-shaders.js';

const { control: controlBuffer, port } = workerData as GpuThreadData;
const control = new Int32Array(controlBuffer);
/** Atomics.waitAsync (Node ≥ 16; in the ES2024 library, newer than ours): waits without blocking this thread's event loop, where Dawn's promises settle. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/** The object create() returns: Dawn's instance, which must outlive the device (else the process crashes). */
let instance: GPU | undefined;
let device: GPUDevice | undefined;
const pipelines = new Map<KernelName, GPUComputePipeline>();

interface KernelResource {
  pipeline: GPUComputePipeline;
  tables: GPUBuffer[];
  /** The per-frame parameter's uniform and its staging words, for kernels that take one. */
  parameter: { buffer: GPUBuffer; words: Uint32Array<ArrayBuffer> } | undefined;
  /** Bind groups reading A and writing B, and the reverse; rebuilt when the frame buffers change. */
  bindings: [GPUBindGroup, GPUBindGroup] | undefined;
}
const kernels = new Map<number, KernelResource>();

/** The frame's two ping-pong buffers, the readback buffer and the geometry uniform, sized for `capacity` bytes. */
interface FrameBuffers {
  capacity: number;
  ping: GPUBuffer;
  pong: GPUBuffer;
  readback: GPUBuffer;
  info: GPUBuffer;
  upload: Uint8Array<ArrayBuffer>;
}
let frameBuffers: FrameBuffers | undefined;
const info = new Uint32Array(FRAME_INFO_BYTES / 4);
let frameBytes = new Uint8Array(new SharedArrayBuffer(0));
let lastWidth = 0;
let lastHeight = 0;
let dispatch = { x: 0, y: 0 };

function reply(message: GpuReply): void {
  port.postMessage(message);
  Atomics.store(control, CONTROL.reply, 1);
  Atomics.notify(control, CONTROL.reply);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function open(allowSoftware: boolean): Promise<GpuReply> {
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
    instance = gpu;
    device = await adapter.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
    // A validation error (a shader or binding bug) would otherwise leave frames wrong without a word.
    device.onuncapturederror = (event) => port.postMessage({ type: 'lost', message: `GPU error: ${event.error.message}` } satisfies GpuReply);
    device.lost.then((lost) => port.postMessage({ type: 'lost', message: `GPU device lost: ${lost.message}` } satisfies GpuReply)).catch(() => {});
    return { type: 'opened', adapter: `${description}${attempt.software ? ' (software, OpenGL ES)' : ''}`, software };
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

function pipelineFor(kernel: KernelName): GPUComputePipeline {
  let pipeline = pipelines.get(kernel);
  if (!pipeline) {
    const module = device!.createShaderModule({ code: KERNELS[kernel].source, label: kernel });
    pipeline = device!.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: kernel });
    pipelines.set(kernel, pipeline);
  }
  return pipeline;
}

function createKernel(id: number, kernel: KernelName, tables: Uint8Array[]): void {
  if (!device) throw new Error('the GPU device is not open');
  const buffers = tables.map((table) => {
    const size = Math.max(4, Math.ceil(table.byteLength / 4) * 4);
    const buffer = device!.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    // Writes are whole words: a table of another length goes through a padded copy.
    const words = table.byteLength === size ? table : new Uint8Array(size);
    if (words !== table) words.set(table);
    // A structured clone: its own ArrayBuffer, never shared.
    device!.queue.writeBuffer(buffer, 0, words as Uint8Array<ArrayBuffer>, 0, size);
    return buffer;
  });
  release(id);
  const parameter = KERNELS[kernel].parameter ? { buffer: device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }), words: new Uint32Array(4) } : undefined;
  kernels.set(id, { pipeline: pipelineFor(kernel), tables: buffers, parameter, bindings: undefined });
}

function release(id: number): void {
  const resource = kernels.get(id);
  if (!resource) return;
  kernels.delete(id);
  for (const buffer of resource.tables) buffer.destroy();
  resource.parameter?.buffer.destroy();
}

function bindingsOf(resource: KernelResource, buffers: FrameBuffers): [GPUBindGroup, GPUBindGroup] {
  if (resource.bindings) return resource.bindings;
  const group = (input: GPUBuffer, output: GPUBuffer): GPUBindGroup =>
    device!.createBindGroup({
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

/** Buffers for a frame of `bytes` (rounded up to whole words); kept while frames do not grow. */
function ensureFrameBuffers(bytes: number): FrameBuffers {
  if (frameBuffers && frameBuffers.capacity >= bytes) return frameBuffers;
  if (frameBuffers) for (const buffer of [frameBuffers.ping, frameBuffers.pong, frameBuffers.readback, frameBuffers.info]) buffer.destroy();
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  frameBuffers = {
    capacity: bytes,
    ping: device!.createBuffer({ size: bytes, usage: storage }),
    pong: device!.createBuffer({ size: bytes, usage: storage }),
    readback: device!.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    info: device!.createBuffer({ size: FRAME_INFO_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
    upload: new Uint8Array(bytes),
  };
  for (const resource of kernels.values()) resource.bindings = undefined;
  lastWidth = 0;
  return frameBuffers;
}

/** One frame: one upload, the queued kernels back to back on the GPU, one readback. */
async function runFrame(): Promise<void> {
  if (!device) throw new Error('the GPU device is not open');
  const width = control[CONTROL.width]!;
  const height = control[CONTROL.height]!;
  const opCount = control[CONTROL.opCount]!;
  const lumaBytes = width * height;
  const chromaBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
  const totalBytes = lumaBytes + 2 * chromaBytes;
  const words = Math.ceil(totalBytes / 4);
  const buffers = ensureFrameBuffers(words * 4);
  if (width !== lastWidth || height !== lastHeight) {
    const groups = Math.ceil(words / WORKGROUP_SIZE);
    dispatch = { x: Math.min(groups, 65535), y: Math.ceil(groups / 65535) };
    info.set([width, height, Math.ceil(width / 2), lumaBytes, chromaBytes, totalBytes, dispatch.x * WORKGROUP_SIZE, 0]);
    device.queue.writeBuffer(buffers.info, 0, info);
    lastWidth = width;
    lastHeight = height;
  }
  // Dawn refuses shared memory as a source: one copy into this thread's own buffer first.
  buffers.upload.set(frameBytes.subarray(0, words * 4));
  device.queue.writeBuffer(buffers.ping, 0, buffers.upload, 0, words * 4);
  const encoder = device.createCommandEncoder();
  let reading = 0;
  for (let index = 0; index < opCount; index++) {
    const slot = OPS + OP_SLOTS * index;
    const resource = kernels.get(control[slot]!);
    if (!resource) throw new Error(`GPU kernel ${control[slot]} was released`);
    if (resource.parameter) {
      // Written before the submit, so this frame's dispatch sees it (a kernel runs once per frame).
      for (let word = 0; word < OP_PARAMETERS; word++) resource.parameter.words[word] = control[slot + 1 + word]!;
      device.queue.writeBuffer(resource.parameter.buffer, 0, resource.parameter.words);
    }
    const pass = encoder.beginComputePass();
    pass.setPipeline(resource.pipeline);
    pass.setBindGroup(0, bindingsOf(resource, buffers)[reading]!);
    pass.dispatchWorkgroups(dispatch.x, dispatch.y);
    pass.end();
    reading ^= 1;
  }
  encoder.copyBufferToBuffer(reading === 0 ? buffers.ping : buffers.pong, 0, buffers.readback, 0, words * 4);
  device.queue.submit([encoder.finish()]);
  await buffers.readback.mapAsync(GPUMapMode.READ, 0, words * 4);
  frameBytes.set(new Uint8Array(buffers.readback.getMappedRange(0, words * 4)), 0);
  buffers.readback.unmap();
}

async function serveFrames(): Promise<void> {
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
      await runFrame();
    } catch (error) {
      failed = 1;
      port.postMessage({ type: 'error', message: messageOf(error) } satisfies GpuReply);
    }
    Atomics.store(control, CONTROL.failed, failed);
    Atomics.store(control, CONTROL.done, request);
    Atomics.notify(control, CONTROL.done);
  }
}

port.on('message', (message: GpuRequest) => {
  void (async () => {
    try {
      if (message.type === 'open') return reply(await open(message.allowSoftware));
      if (message.type === 'release') return release(message.id);
      if (message.type === 'destroy') return device?.destroy();
      if (message.type === 'frames') frameBytes = new Uint8Array(message.buffer);
      else createKernel(message.id, message.kernel, message.tables);
      reply({ type: 'ok' });
    } catch (error) {
      reply({ type: 'error', message: messageOf(error) });
    }
  })();
});

void serveFrames().finally(() => {
  port.close();
  device?.destroy();
  // Dropped only after the device: see `instance`.
  instance = undefined;
});
