// What the chain's thread and its GPU thread say to each other. Setup (opening the device, kernels'
// tables) goes as messages with a blocking wait for the answer; frames go through shared memory.
import type { MessagePort } from 'node:worker_threads';
import type { KernelName } from './webgpu-shaders.js';

/** Int32 slots of the control block. */
export const CONTROL = {
  /** 0 while a setup answer is awaited, 1 once it is on the port. */
  reply: 0,
  /** Frame requests made so far; the GPU thread waits on this slot. */
  request: 1,
  /** The last frame request the GPU thread finished. */
  done: 2,
  /** 1 when the last finished frame failed (the message is on the port). */
  failed: 3,
  /** 1 when the GPU thread must stop serving frames. */
  closing: 4,
  width: 5,
  height: 6,
  /** Kernels queued for the frame, then from OPS on OP_SLOTS each: the kernel id and its per-frame parameters. */
  opCount: 7,
} as const;

/** Most GPU kernels one frame runs in a row (a chain holds at most a few dozen transforms, pixelate queues two). */
export const MAX_OPS = 64;
export const OPS = 8;
/** Per-frame parameters of one kernel run: an overlay's place needs four words (the uniform's size). */
export const OP_PARAMETERS = 4;
export const OP_SLOTS = 1 + OP_PARAMETERS;
export const CONTROL_SLOTS = OPS + OP_SLOTS * MAX_OPS;

/** A chain thread's connection: its control block and the port its setup messages go over. */
export interface GpuClientData {
  control: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * The GPU thread's start: with `client`, it serves that one chain thread (a render's own GPU thread);
 * without, it is the process's shared GPU thread (`WebgpuHub`), which clients reach through
 * connection ports (`GpuHubMessage`).
 */
export interface GpuThreadData {
  client?: GpuClientData;
}

/** To the shared GPU thread: a port on which chain threads will connect; or, from a chain thread over such a port, a connection. */
export type GpuHubMessage = { type: 'listen'; port: MessagePort } | ({ type: 'connect' } & GpuClientData) | { type: 'shutdown' };

/** From the shared GPU thread to the main thread: how many devices are open (0 or 1) and how many chain threads use it. */
export interface GpuHubReport {
  type: 'usage';
  devices: number;
  clients: number;
  adapter: string | undefined;
}

export type GpuRequest =
  | { type: 'open'; allowSoftware: boolean }
  | { type: 'kernel'; id: number; kernel: KernelName; tables: Uint8Array[] }
  | { type: 'release'; id: number }
  | { type: 'frames'; buffer: SharedArrayBuffer }
  /** Fault injection (LIVEFX_FAULT_GPU_LOSS_AFTER_FRAMES): destroys the device as a driver reset would. */
  | { type: 'destroy' };

export type GpuReply =
  | { type: 'opened'; adapter: string; software: boolean }
  | { type: 'unavailable'; reason: string }
  | { type: 'ok' }
  | { type: 'error'; message: string }
  /** Sent unasked when the device is lost (driver reset, GPU removed); every later frame fails. */
  | { type: 'lost'; message: string };
