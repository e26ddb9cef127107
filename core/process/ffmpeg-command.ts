/** Option name (without the dash) → value; `true` writes a bare flag. */
export type FfmpegOptions = Record<string, string | number | true>;

/**
 * A small typed builder for ffmpeg argument arrays: global options, then each input with its
 * options, then each output with its options, in the order ffmpeg requires.
 */
export class FfmpegCommand {
  private readonly globals: string[] = ['-hide_banner', '-nostats', '-loglevel', 'error'];
  private readonly inputs: string[] = [];
  private readonly outputs: string[] = [];

  global(options: FfmpegOptions): this {
    this.globals.push(...FfmpegCommand.flatten(options));
    return this;
  }

  input(source: string, options: FfmpegOptions = {}): this {
    this.inputs.push(...FfmpegCommand.flatten(options), '-i', source);
    return this;
  }

  output(target: string, options: FfmpegOptions = {}): this {
    this.outputs.push(...FfmpegCommand.flatten(options), target);
    return this;
  }

  toArgs(): string[] {
    if (this.inputs.length === 0) throw new Error('ffmpeg command has no input');
    if (this.outputs.length === 0) throw new Error('ffmpeg command has no output');
    return [...this.globals, ...this.inputs, ...this.outputs];
  }

  private static flatten(options: FfmpegOptions): string[] {
    const args: string[] = [];
    for (const [name, value] of Object.entries(options)) {
      args.push(`-${name}`);
      if (value !== true) args.push(String(value));
    }
    return args;
  }
}
