import type { AsrResult, AsrWord, SpeakerAdaptationOutcome } from './asr-engine.js';
import type { CaptionCue } from './caption-layout.js';
import { maskProfanity } from './profanity-mask.js';
import { writeNumbersAsDigits } from './spoken-numbers.js';

export const TRANSCRIPT_FORMATS = ['vtt', 'srt', 'json', 'txt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** What a file transcription produced. */
export interface Transcript {
  file: string;
  durationMs: number;
  engine: { name: string; version: string };
  /** One result per utterance, as the engine gave them. */
  utterances: AsrResult[];
  /** Every word with its times, in order. */
  words: AsrWord[];
  /** The same words laid out as captions. */
  cues: CaptionCue[];
  maskProfanity: boolean;
  /** Whether a second pass adapted to the speaker, and if not, why (absent: the engine cannot adapt or was told not to). */
  adaptation?: TranscriptAdaptation;
}

/** What speaker adaptation did for a file: applied (with the seconds of speech it used), or why not. */
export type TranscriptAdaptation = SpeakerAdaptationOutcome;

/** A cue timestamp, hh:mm:ss.mmm (WebVTT) or hh:mm:ss,mmm (SRT); negative times read as 0. */
export function cueTimestamp(ms: number, separator: '.' | ','): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = Math.floor((total % 60_000) / 1000);
  const millis = total % 1000;
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${separator}${pad(millis, 3)}`;
}

export function toWebVtt(cues: readonly CaptionCue[]): string {
  const blocks = cues.map((cue, index) => `${index + 1}\n${cueTimestamp(cue.startMs, '.')} --> ${cueTimestamp(cue.endMs, '.')}\n${cue.lines.join('\n')}`);
  return `WEBVTT\n\n${blocks.map((block) => `${block}\n\n`).join('')}`;
}

export function toSrt(cues: readonly CaptionCue[]): string {
  return cues.map((cue, index) => `${index + 1}\n${cueTimestamp(cue.startMs, ',')} --> ${cueTimestamp(cue.endMs, ',')}\n${cue.lines.join('\n')}\n\n`).join('');
}

/** One line per utterance, numbers as digits. */
export function toPlainText(transcript: Transcript): string {
  return transcript.utterances
    .map((utterance) => writeNumbersAsDigits(utterance.words).map((word) => (transcript.maskProfanity ? maskProfanity(word.word) : word.word)).join(' '))
    .filter((line) => line !== '')
    .map((line) => `${line}\n`)
    .join('');
}

export function toJson(transcript: Transcript): string {
  const words = transcript.words.map((word) => ({ ...word, word: transcript.maskProfanity ? maskProfanity(word.word) : word.word }));
  return `${JSON.stringify({ file: transcript.file, durationMs: transcript.durationMs, engine: transcript.engine, ...(transcript.adaptation ? { adaptation: transcript.adaptation } : {}), words }, null, 2)}\n`;
}

export function formatTranscript(transcript: Transcript, format: TranscriptFormat): string {
  switch (format) {
    case 'vtt':
      return toWebVtt(transcript.cues);
    case 'srt':
      return toSrt(transcript.cues);
    case 'json':
      return toJson(transcript);
    case 'txt':
      return toPlainText(transcript);
  }
}
