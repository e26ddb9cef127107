export interface EnergyGateOptions {
  /** Blocks quieter than this are never speech (dBFS). */
  minimumLevelDb?: number;
  /** How far above the tracked noise floor a block must be to open the gate. */
  marginDb?: number;
  /** How fast the floor climbs towards louder input (it falls at once), so steady noise closes the gate. */
  floorRiseDbPerSecond?: number;
  /**
   * How fast it climbs while the input rises and falls like speech (default 1 dB/s): at the steady
   * rate a sentence longer than about 1.7 s raised the floor to the voice and its last words were dropped.
   */
  floorRiseInSpeechDbPerSecond?: number;
  /**
   * Least spread (standard deviation, dB) of the 10 ms levels over the last second. Speech rises and
   * falls with its syllables (7–30 dB measured, 5 dB and up at 20 dB SNR); a tone, a held chord or
   * steady noise stays within 0.1–2.5 dB.
   */
  minimumModulationDb?: number;
}

const SUBFRAME_MS = 10;
const WINDOW_SUBFRAMES = 100;
/** Digital silence would make the spread meaningless (−∞ dB); levels are clamped here. */
const LEVEL_FLOOR_DB = -90;

/**
 * A cheap voice-activity pre-filter: the RMS level of each block against an adaptive noise floor,
 * and the syllabic rise and fall of the level over the last second. It only decides whether audio
 * is worth handing to the recogniser, whose own VAD then segments.
 */
export class EnergyGate {
  private readonly minimumLevelDb: number;
  private readonly marginDb: number;
  private readonly floorRiseDbPerSecond: number;
  private readonly floorRiseInSpeechDbPerSecond: number;
  private readonly minimumModulationDb: number;
  private readonly lowestFloorDb: number;
  private floorDb = Number.NaN;
  private lastLevelDb = LEVEL_FLOOR_DB;
  private lastModulationDb = 0;
  private readonly subframeLevels = new Float64Array(WINDOW_SUBFRAMES);
  private subframeIndex = -1;

  constructor(options: EnergyGateOptions = {}) {
    this.minimumLevelDb = options.minimumLevelDb ?? -50;
    this.marginDb = options.marginDb ?? 9;
    this.floorRiseDbPerSecond = options.floorRiseDbPerSecond ?? 10;
    this.floorRiseInSpeechDbPerSecond = options.floorRiseInSpeechDbPerSecond ?? 1;
    this.minimumModulationDb = options.minimumModulationDb ?? 4;
    // Below this the floor means nothing (digital silence), and climbing from it would take long.
    this.lowestFloorDb = this.minimumLevelDb - this.marginDb;
  }

  get levelDb(): number {
    return this.lastLevelDb;
  }

  get noiseFloorDb(): number {
    return this.floorDb;
  }

  get modulationDb(): number {
    return this.lastModulationDb;
  }

  /** Measures one block (of `sampleRate` audio) and says whether it may hold speech. */
  test(block: Int16Array, sampleRate: number): boolean {
    const subframe = Math.max(1, Math.round((sampleRate * SUBFRAME_MS) / 1000));
    let blockSquares = 0;
    for (let start = 0; start < block.length; start += subframe) {
      const end = Math.min(block.length, start + subframe);
      let squares = 0;
      for (let index = start; index < end; index++) squares += block[index]! * block[index]!;
      blockSquares += squares;
      const level = decibels(squares / (end - start));
      // The window starts full of the first level, so a stream's first second does not look modulated.
      if (this.subframeIndex < 0) {
        this.subframeLevels.fill(level);
        this.subframeIndex = 0;
      }
      this.subframeLevels[this.subframeIndex] = level;
      this.subframeIndex = (this.subframeIndex + 1) % WINDOW_SUBFRAMES;
    }
    const levelDb = decibels(blockSquares / Math.max(1, block.length));
    this.lastLevelDb = levelDb;
    this.lastModulationDb = spread(this.subframeLevels);
    // Starting from the lowest floor, the decoder hears the first seconds of a stream's background
    // noise (its noise estimate needs them) and a stream that opens with speech is not cut.
    if (Number.isNaN(this.floorDb)) this.floorDb = this.lowestFloorDb;
    const modulated = this.lastModulationDb >= this.minimumModulationDb;
    const rise = modulated ? this.floorRiseInSpeechDbPerSecond : this.floorRiseDbPerSecond;
    if (levelDb < this.floorDb) this.floorDb = Math.max(this.lowestFloorDb, levelDb);
    else this.floorDb = Math.min(levelDb, this.floorDb + rise * (block.length / sampleRate));
    return levelDb >= this.minimumLevelDb && levelDb >= this.floorDb + this.marginDb && modulated;
  }
}

function decibels(meanSquare: number): number {
  return meanSquare > 0 ? Math.max(LEVEL_FLOOR_DB, 10 * Math.log10(meanSquare / (32768 * 32768))) : LEVEL_FLOOR_DB;
}

function spread(values: Float64Array): number {
  let sum = 0;
  for (let index = 0; index < values.length; index++) sum += values[index]!;
  const mean = sum / values.length;
  let squares = 0;
  for (let index = 0; index < values.length; index++) squares += (values[index]! - mean) ** 2;
  return Math.sqrt(squares / values.length);
}
