/**
 * Streaming sample-rate conversion of mono s16 PCM, chunk by chunk with no seams: a box filter
 * against aliasing when going down, then linear interpolation. Good enough for speech recognition,
 * which only looks below 8 kHz; not for listening.
 */
export class PcmResampler {
  private readonly step: number;
  private readonly window: Float32Array;
  private windowIndex = 0;
  private windowSum = 0;
  private position = 0;
  private last = 0;
  /** Reused from chunk to chunk, grown when a larger chunk comes: process() allocates only then. */
  private filteredBuffer = new Float32Array(0);
  private outputBuffer = new Int16Array(0);

  constructor(
    readonly inputRate: number,
    readonly outputRate: number,
  ) {
    if (!(inputRate > 0 && outputRate > 0)) throw new RangeError(`sample rates must be positive, got ${inputRate} → ${outputRate}`);
    this.step = inputRate / outputRate;
    this.window = new Float32Array(Math.max(1, Math.round(this.step)));
  }

  get passthrough(): boolean {
    return this.inputRate === this.outputRate;
  }

  /** The converted chunk; valid until the next call (callers copy what they keep). */
  process(input: Int16Array): Int16Array {
    if (this.passthrough) return input;
    const filtered = this.lowPass(input);
    const count = filtered.length;
    const needed = Math.ceil((count - this.position) / this.step) + 1;
    if (this.outputBuffer.length < needed) this.outputBuffer = new Int16Array(needed);
    const output = this.outputBuffer;
    let written = 0;
    while (this.position <= count - 1) {
      const index = Math.floor(this.position);
      const fraction = this.position - index;
      const a = index < 0 ? this.last : filtered[index]!;
      const b = index + 1 < count ? filtered[index + 1]! : a;
      output[written++] = Math.round(a + (b - a) * fraction);
      this.position += this.step;
    }
    this.position -= count;
    if (count > 0) this.last = filtered[count - 1]!;
    return output.subarray(0, written);
  }

  private lowPass(input: Int16Array): Float32Array {
    const size = this.window.length;
    if (this.filteredBuffer.length < input.length) this.filteredBuffer = new Float32Array(input.length);
    const output = this.filteredBuffer.subarray(0, input.length);
    if (size === 1) {
      output.set(input);
      return output;
    }
    for (let index = 0; index < input.length; index++) {
      const sample = input[index]!;
      this.windowSum += sample - this.window[this.windowIndex]!;
      this.window[this.windowIndex] = sample;
      this.windowIndex = (this.windowIndex + 1) % size;
      output[index] = this.windowSum / size;
    }
    return output;
  }
}
