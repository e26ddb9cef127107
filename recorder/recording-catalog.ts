import type { Database } from 'better-sqlite3';
import type { Migration } from '../core/database.js';

export type RecordingState = 'recording' | 'complete' | 'recovered' | 'imported';
export type MediaKind = 'original' | 'transformed';
export const MEDIA_KINDS: readonly MediaKind[] = ['original', 'transformed'];

export interface RecordingRow {
  id: string;
  /** Null for recordings that did not come from a live stream of this server (imports). */
  streamId: string | null;
  title: string;
  state: RecordingState;
  startedAt: string;
  endedAt: string | null;
  durationS: number;
}

export interface SegmentRow {
  recordingId: string;
  kind: MediaKind;
  index: number;
  /** Relative to the recording's folder, e.g. `original/000003.mkv`. */
  file: string;
  /** On the session clock (seconds from the first frame). */
  startS: number;
  durationS: number;
  bytes: number;
}

/** One event of the log; `payload` never has the keys `t` or `type` (they are flattened into one object on output). */
export interface RecordingEvent {
  /** Order of appending within the recording, from 1: the key that makes re-inserting after a crash idempotent. */
  seq: number;
  /** Seconds from session start. */
  t: number;
  type: string;
  payload: Record<string, unknown>;
}

export interface RecordingFilter {
  streamId?: string;
  /** ISO dates compared with startedAt. */
  from?: string;
  to?: string;
}

export interface EventFilter {
  types?: readonly string[];
  fromS?: number;
  toS?: number;
}

/**
 * The recordings schema. Transcript words, chat and reactions are events (types `transcript-word`,
 * `chat`, `reaction`), so they need no tables of their own; imports are rows in state `imported`.
 */
export const recordingMigrations: readonly Migration[] = [
  {
    id: 'recordings/1-create',
    up(db) {
      db.exec(`
        CREATE TABLE recordings (
          id TEXT PRIMARY KEY,
          stream_id TEXT,
          title TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('recording', 'complete', 'recovered', 'imported')),
          started_at TEXT NOT NULL,
          ended_at TEXT,
          duration_s REAL NOT NULL DEFAULT 0
        );
        CREATE INDEX recordings_by_stream ON recordings (stream_id, started_at);
        CREATE INDEX recordings_by_start ON recordings (started_at);
        CREATE INDEX recordings_by_state ON recordings (state);
        CREATE TABLE recording_segments (
          recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
          kind TEXT NOT NULL CHECK (kind IN ('original', 'transformed')),
          idx INTEGER NOT NULL,
          file TEXT NOT NULL,
          start_s REAL NOT NULL,
          duration_s REAL NOT NULL,
          bytes INTEGER NOT NULL,
          PRIMARY KEY (recording_id, kind, idx)
        );
        CREATE TABLE recording_events (
          recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          t REAL NOT NULL,
          type TEXT NOT NULL,
          payload TEXT NOT NULL,
          PRIMARY KEY (recording_id, seq)
        );
        CREATE INDEX recording_events_by_time ON recording_events (recording_id, t);
        CREATE INDEX recording_events_by_type ON recording_events (recording_id, type, t);
      `);
    },
  },
];

interface RecordingRecord {
  id: string;
  stream_id: string | null;
  title: string;
  state: RecordingState;
  started_at: string;
  ended_at: string | null;
  duration_s: number;
}

function toRecording(row: RecordingRecord): RecordingRow {
  return { id: row.id, streamId: row.stream_id, title: row.title, state: row.state, startedAt: row.started_at, endedAt: row.ended_at, durationS: row.duration_s };
}

/** The recordings part of livefx.db: recordings, their media segments and their event log. */
export class RecordingCatalog {
  private readonly insertEventStatement;
  private readonly insertSegmentStatement;

  constructor(private readonly db: Database) {
    this.insertEventStatement = db.prepare('INSERT OR IGNORE INTO recording_events (recording_id, seq, t, type, payload) VALUES (?, ?, ?, ?, ?)');
    this.insertSegmentStatement = db.prepare(
      'INSERT OR IGNORE INTO recording_segments (recording_id, kind, idx, file, start_s, duration_s, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  create(recording: RecordingRow): RecordingRow {
    this.db
      .prepare('INSERT INTO recordings (id, stream_id, title, state, started_at, ended_at, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(recording.id, recording.streamId, recording.title, recording.state, recording.startedAt, recording.endedAt, recording.durationS);
    return recording;
  }

  get(id: string): RecordingRow | undefined {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingRecord | undefined;
    return row ? toRecording(row) : undefined;
  }

  /** Newest first. */
  list(filter: RecordingFilter = {}): RecordingRow[] {
    const where: string[] = [];
    const values: string[] = [];
    if (filter.streamId !== undefined) {
      where.push('stream_id = ?');
      values.push(filter.streamId);
    }
    if (filter.from !== undefined) {
      where.push('started_at >= ?');
      values.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('started_at <= ?');
      values.push(filter.to);
    }
    const sql = `SELECT * FROM recordings${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id`;
    return (this.db.prepare(sql).all(...values) as RecordingRecord[]).map(toRecording);
  }

  inState(state: RecordingState): RecordingRow[] {
    return (this.db.prepare('SELECT * FROM recordings WHERE state = ? ORDER BY started_at').all(state) as RecordingRecord[]).map(toRecording);
  }

  finish(id: string, state: Exclude<RecordingState, 'recording'>, endedAt: string, durationS: number): void {
    this.db.prepare('UPDATE recordings SET state = ?, ended_at = ?, duration_s = ? WHERE id = ?').run(state, endedAt, durationS, id);
  }

  /** Registers a segment; registering the same (kind, index) again is a no-op. */
  addSegment(segment: SegmentRow): void {
    this.insertSegmentStatement.run(segment.recordingId, segment.kind, segment.index, segment.file, segment.startS, segment.durationS, segment.bytes);
  }

  segments(recordingId: string, kind?: MediaKind): SegmentRow[] {
    const rows = (
      kind
        ? this.db.prepare('SELECT * FROM recording_segments WHERE recording_id = ? AND kind = ? ORDER BY idx').all(recordingId, kind)
        : this.db.prepare('SELECT * FROM recording_segments WHERE recording_id = ? ORDER BY kind, idx').all(recordingId)
    ) as { recording_id: string; kind: MediaKind; idx: number; file: string; start_s: number; duration_s: number; bytes: number }[];
    return rows.map((row) => ({ recordingId: row.recording_id, kind: row.kind, index: row.idx, file: row.file, startS: row.start_s, durationS: row.duration_s, bytes: row.bytes }));
  }

  /** Inserts events in one transaction; events already there (same seq) are skipped. Returns how many were new. */
  insertEvents(recordingId: string, events: readonly RecordingEvent[]): number {
    if (events.length === 0) return 0;
    return this.db.transaction(() => {
      let inserted = 0;
      for (const event of events) inserted += this.insertEventStatement.run(recordingId, event.seq, event.t, event.type, JSON.stringify(event.payload)).changes;
      return inserted;
    })();
  }

  /** In time order (then append order). */
  *events(recordingId: string, filter: EventFilter = {}): IterableIterator<RecordingEvent> {
    const where = ['recording_id = ?'];
    const values: (string | number)[] = [recordingId];
    if (filter.types && filter.types.length > 0) {
      where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
      values.push(...filter.types);
    }
    if (filter.fromS !== undefined) {
      where.push('t >= ?');
      values.push(filter.fromS);
    }
    if (filter.toS !== undefined) {
      where.push('t <= ?');
      values.push(filter.toS);
    }
    const statement = this.db.prepare(`SELECT seq, t, type, payload FROM recording_events WHERE ${where.join(' AND ')} ORDER BY t, seq`);
    for (const row of statement.iterate(...values) as IterableIterator<{ seq: number; t: number; type: string; payload: string }>) {
      yield { seq: row.seq, t: row.t, type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown> };
    }
  }

  /** Ids of the chat messages an operator removed (`moderation` events with action `remove-chat`); the `chat` events themselves stay. */
  removedChatIds(recordingId: string): Set<string> {
    const rows = this.db
      .prepare(`SELECT json_extract(payload, '$.messageId') AS id FROM recording_events WHERE recording_id = ? AND type = 'moderation' AND json_extract(payload, '$.action') = 'remove-chat'`)
      .all(recordingId) as { id: unknown }[];
    return new Set(rows.flatMap((row) => (typeof row.id === 'string' ? [row.id] : [])));
  }

  eventSeqs(recordingId: string): Set<number> {
    return new Set((this.db.prepare('SELECT seq FROM recording_events WHERE recording_id = ?').all(recordingId) as { seq: number }[]).map((row) => row.seq));
  }

  /** Number of events of each type. */
  eventCounts(recordingId: string): Map<string, number> {
    const rows = this.db.prepare('SELECT type, COUNT(*) AS count FROM recording_events WHERE recording_id = ? GROUP BY type').all(recordingId) as { type: string; count: number }[];
    return new Map(rows.map((row) => [row.type, row.count]));
  }

  lastEventTime(recordingId: string): number {
    const row = this.db.prepare('SELECT MAX(t) AS t FROM recording_events WHERE recording_id = ?').get(recordingId) as { t: number | null };
    return row.t ?? 0;
  }

  /** Removes the recording with its segments and events (the files are the caller's). */
  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM recordings WHERE id = ?').run(id).changes > 0;
  }
}
