import type { Database } from 'better-sqlite3';
import type { EventFilter, MediaKind, RecordingCatalogStore, RecordingEvent, RecordingFilter, RecordingRow, RecordingState, SegmentRow } from './recording-catalog.js';

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

/** Events read per query while iterating a recording's log. */
const EVENT_PAGE = 1000;

export interface SqliteRecordingCatalogOptions {
  db: Database;
}

/**
 * The recordings part of livefx.db: recordings, their media segments and their event log. better-sqlite3
 * is synchronous, so each call has done its work when it returns (a close that does not await still writes).
 */
export class SqliteRecordingCatalog implements RecordingCatalogStore {
  private readonly db: Database;
  private readonly insertEventStatement;
  private readonly insertSegmentStatement;

  constructor(options: SqliteRecordingCatalogOptions) {
    const db = (this.db = options.db);
    this.insertEventStatement = db.prepare('INSERT OR IGNORE INTO recording_events (recording_id, seq, t, type, payload) VALUES (?, ?, ?, ?, ?)');
    this.insertSegmentStatement = db.prepare(
      'INSERT OR IGNORE INTO recording_segments (recording_id, kind, idx, file, start_s, duration_s, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  async create(recording: RecordingRow): Promise<RecordingRow> {
    this.insertRow(recording);
    return recording;
  }

  async insertRecording(recording: RecordingRow, segments: readonly SegmentRow[], events: readonly RecordingEvent[]): Promise<void> {
    this.db.transaction(() => {
      this.insertRow(recording);
      for (const segment of segments) this.insertSegment(segment);
      for (const event of events) this.insertEvent(recording.id, event);
    })();
  }

  async get(id: string): Promise<RecordingRow | undefined> {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingRecord | undefined;
    return row ? toRecording(row) : undefined;
  }

  /** Newest first. */
  async list(filter: RecordingFilter = {}): Promise<RecordingRow[]> {
    const { where, values } = givenConditions([
      ['stream_id = ?', filter.streamId],
      ['started_at >= ?', filter.from],
      ['started_at <= ?', filter.to],
    ]);
    const sql = `SELECT * FROM recordings${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id`;
    return (this.db.prepare(sql).all(...values) as RecordingRecord[]).map(toRecording);
  }

  async inState(state: RecordingState): Promise<RecordingRow[]> {
    return (this.db.prepare('SELECT * FROM recordings WHERE state = ? ORDER BY started_at').all(state) as RecordingRecord[]).map(toRecording);
  }

  async finish(id: string, state: Exclude<RecordingState, 'recording'>, endedAt: string, durationS: number): Promise<void> {
    this.db.prepare('UPDATE recordings SET state = ?, ended_at = ?, duration_s = ? WHERE id = ?').run(state, endedAt, durationS, id);
  }

  /** Registers a segment; registering the same (kind, index) again is a no-op. */
  async addSegment(segment: SegmentRow): Promise<void> {
    this.insertSegment(segment);
  }

  async segments(recordingId: string, kind?: MediaKind): Promise<SegmentRow[]> {
    const rows = (
      kind
        ? this.db.prepare('SELECT * FROM recording_segments WHERE recording_id = ? AND kind = ? ORDER BY idx').all(recordingId, kind)
        : this.db.prepare('SELECT * FROM recording_segments WHERE recording_id = ? ORDER BY kind, idx').all(recordingId)
    ) as { recording_id: string; kind: MediaKind; idx: number; file: string; start_s: number; duration_s: number; bytes: number }[];
    return rows.map((row) => ({ recordingId: row.recording_id, kind: row.kind, index: row.idx, file: row.file, startS: row.start_s, durationS: row.duration_s, bytes: row.bytes }));
  }

  /** Inserts events in one transaction; events already there (same seq) are skipped. Returns how many were new. */
  async insertEvents(recordingId: string, events: readonly RecordingEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    return this.db.transaction(() => {
      let inserted = 0;
      for (const event of events) inserted += this.insertEvent(recordingId, event);
      return inserted;
    })();
  }

  /** In time order (then append order); each page is one query, so no statement stays open across an await. */
  async *events(recordingId: string, filter: EventFilter = {}): AsyncIterableIterator<RecordingEvent> {
    const { where, values } = givenConditions([
      ['recording_id = ?', recordingId],
      ['t >= ?', filter.fromS],
      ['t <= ?', filter.toS],
    ]);
    if (filter.types && filter.types.length > 0) {
      where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
      values.push(...filter.types);
    }
    const select = `SELECT seq, t, type, payload FROM recording_events WHERE ${where.join(' AND ')}`;
    const first = this.db.prepare(`${select} ORDER BY t, seq LIMIT ${EVENT_PAGE}`);
    const next = this.db.prepare(`${select} AND (t > ? OR (t = ? AND seq > ?)) ORDER BY t, seq LIMIT ${EVENT_PAGE}`);
    let page = first.all(...values) as { seq: number; t: number; type: string; payload: string }[];
    while (page.length > 0) {
      for (const row of page) yield { seq: row.seq, t: row.t, type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown> };
      if (page.length < EVENT_PAGE) return;
      const last = page[page.length - 1]!;
      page = next.all(...values, last.t, last.t, last.seq) as typeof page;
    }
  }

  /** Ids of the chat messages an operator removed (`moderation` events with action `remove-chat`); the `chat` events themselves stay. */
  async removedChatIds(recordingId: string): Promise<Set<string>> {
    const rows = this.db
      .prepare(`SELECT json_extract(payload, '$.messageId') AS id FROM recording_events WHERE recording_id = ? AND type = 'moderation' AND json_extract(payload, '$.action') = 'remove-chat'`)
      .all(recordingId) as { id: unknown }[];
    return new Set(rows.flatMap((row) => (typeof row.id === 'string' ? [row.id] : [])));
  }

  async eventSeqs(recordingId: string): Promise<Set<number>> {
    return new Set((this.db.prepare('SELECT seq FROM recording_events WHERE recording_id = ?').all(recordingId) as { seq: number }[]).map((row) => row.seq));
  }

  /** Number of events of each type. */
  async eventCounts(recordingId: string): Promise<Map<string, number>> {
    const rows = this.db.prepare('SELECT type, COUNT(*) AS count FROM recording_events WHERE recording_id = ? GROUP BY type').all(recordingId) as { type: string; count: number }[];
    return new Map(rows.map((row) => [row.type, row.count]));
  }

  async lastEventTime(recordingId: string): Promise<number> {
    const row = this.db.prepare('SELECT MAX(t) AS t FROM recording_events WHERE recording_id = ?').get(recordingId) as { t: number | null };
    return row.t ?? 0;
  }

  /** Removes the recording with its segments and events (the files are the caller's). */
  async delete(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM recordings WHERE id = ?').run(id).changes > 0;
  }

  private insertRow(recording: RecordingRow): void {
    this.db
      .prepare('INSERT INTO recordings (id, stream_id, title, state, started_at, ended_at, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(recording.id, recording.streamId, recording.title, recording.state, recording.startedAt, recording.endedAt, recording.durationS);
  }

  private insertSegment(segment: SegmentRow): void {
    this.insertSegmentStatement.run(segment.recordingId, segment.kind, segment.index, segment.file, segment.startS, segment.durationS, segment.bytes);
  }

  /** 1 when the event was new, 0 when its seq was there already. */
  private insertEvent(recordingId: string, event: RecordingEvent): number {
    return this.insertEventStatement.run(recordingId, event.seq, event.t, event.type, JSON.stringify(event.payload)).changes;
  }
}

/** The WHERE conditions whose value is given (a filter leaves the others out), and their values in the same order. */
function givenConditions(conditions: readonly [condition: string, value: string | number | undefined][]): { where: string[]; values: (string | number)[] } {
  const where: string[] = [];
  const values: (string | number)[] = [];
  for (const [condition, value] of conditions) {
    if (value === undefined) continue;
    where.push(condition);
    values.push(value);
  }
  return { where, values };
}
