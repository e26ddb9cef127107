export type AsrErrorCode =
  /** The worker thread or engine process died; a new stream may well work. */
  | 'engine_crashed'
  /** The engine could not start (model files missing, command not found). */
  | 'engine_unavailable'
  /** The engine said something outside its contract (a malformed JSON line). */
  | 'protocol_error'
  /** The engine reported a failure of its own (non-zero exit at the end, an error message). */
  | 'engine_failed'
  /** end() or the start took longer than allowed. */
  | 'timeout';

/** A failure of a speech engine; a supervisor reopens the stream when `retryable`, by the flag, not the text. */
export class AsrError extends Error {
  override readonly name = 'AsrError';

  constructor(
    readonly code: AsrErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
