// Built-in music beds, synthesized by ffmpeg's aevalsrc from a chord progression: no downloaded audio,
// the same samples on every install, so a fresh server has music and renders stay deterministic.

export const MUSIC_BEDS = ['uplift', 'calm', 'drive'] as const;
/** Names of uploaded music tracks (`$LIVEFX_DATA_DIR/audio/`): a plain file name with an audio extension, never a path. */
export const MUSIC_FILE_NAME = /^(?!.*\.\.)[\w][\w .-]{0,100}\.(mp3|wav|ogg|oga|opus|m4a|aac|flac)$/i;
export type MusicBed = (typeof MUSIC_BEDS)[number];

interface BedDesign {
  /** Chords as frequencies (Hz) of three voices; the bass plays the first voice two octaves down. */
  chords: [number, number, number][];
  chordS: number;
  /** Seconds between note onsets (a pluck envelope restarts on each). */
  beatS: number;
  /** How fast a pluck decays (1/s); 0 holds the note (a pad). */
  decay: number;
  /** A soft kick on every beat. */
  kick: boolean;
}

const C4 = 261.63;
const note = (semitones: number): number => Math.round(C4 * 2 ** (semitones / 12) * 100) / 100;

const BEDS: Record<MusicBed, BedDesign> = {
  // I–V–vi–IV in C, plucked at 100 bpm.
  uplift: { chords: [[note(0), note(4), note(7)], [note(-5), note(-1), note(2)], [note(-3), note(0), note(4)], [note(-7), note(-3), note(0)]], chordS: 2.4, beatS: 0.6, decay: 3, kick: false },
  // ii–V–I–vi pads, slow.
  calm: { chords: [[note(2), note(5), note(9)], [note(-5), note(-1), note(2)], [note(0), note(4), note(7)], [note(-3), note(0), note(4)]], chordS: 4, beatS: 4, decay: 0, kick: false },
  // i–VI–III–VII in A minor at 120 bpm with a kick.
  drive: { chords: [[note(-3), note(0), note(4)], [note(-7), note(-3), note(0)], [note(0), note(4), note(7)], [note(-5), note(-1), note(2)]], chordS: 2, beatS: 0.5, decay: 5, kick: true },
};

const select = (index: string, values: number[]): string => values.reduceRight((otherwise, value, position) => (position === values.length - 1 ? String(value) : `if(eq(${index},${position}),${value},${otherwise})`), '');

/** The aevalsrc expression of a bed (mono, peak below 0.6). */
export function bedExpression(bed: MusicBed): string {
  const design = BEDS[bed];
  const chord = `floor(mod(t,${design.chords.length * design.chordS})/${design.chordS})`;
  // Each voice's frequency in the current chord; st/ld keeps the chord index computed once per sample.
  const voices = [0, 1, 2].map((voice) => select('ld(0)', design.chords.map((c) => c[voice]!)));
  const envelope = design.decay > 0 ? `exp(-${design.decay}*mod(t,${design.beatS}))` : `min(1,min(mod(t,${design.chordS})/0.4,(${design.chordS}-mod(t,${design.chordS}))/0.4))`;
  const pad = voices.map((frequency) => `0.11*sin(2*PI*t*${frequency})`).join('+');
  const bass = `0.22*sin(2*PI*t*${voices[0]}/4)*min(1,min(mod(t,${design.chordS})/0.05,(${design.chordS}-mod(t,${design.chordS}))/0.05))`;
  const kick = design.kick ? `+0.25*sin(2*PI*55*mod(t,${design.beatS}))*exp(-18*mod(t,${design.beatS}))` : '';
  return `st(0,${chord});(${pad})*${envelope}+${bass}${kick}`;
}

export function isMusicBed(track: string): track is MusicBed {
  return (MUSIC_BEDS as readonly string[]).includes(track);
}
