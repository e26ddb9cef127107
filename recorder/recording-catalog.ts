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
  /**
   * In a cluster, the LIVEFX_NODE_URL of the node that recorded or imported it: its files are there, and
   * a job enqueued on any node reads them from it. Absent on a single node.
   */
  nodeUrl?: string;
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
const CREATE_RECORDINGS = `
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
`;

/** Which node holds a recording's files (RecordingRow.nodeUrl); null for rows from before it, and on a single node. */
const ADD_NODE_URL = 'ALTER TABLE recordings ADD COLUMN node_url TEXT';

export const recordingMigrations: readonly Migration[] = [
  {
    id: 'recordings/1-create',
    up: (db) => db.exec(CREATE_RECORDINGS),
    // SQLite's REAL is 8 bytes and its INTEGER 64 bits: PostgreSQL needs DOUBLE PRECISION and BIGINT (sizes) for the same values.
    postgres: CREATE_RECORDINGS.replaceAll(' REAL ', ' DOUBLE PRECISION ').replace('bytes INTEGER', 'bytes BIGINT'),
  },
  {
    id: 'recordings/2-node-url',
    up: (db) => db.exec(ADD_NODE_URL),
    postgres: ADD_NODE_URL,
  },
];

/** A row of the recordings table, as both catalogs read it. */
export interface RecordingRecord {
  id: string;
  stream_id: string | null;
  title: string;
  state: RecordingState;
  started_at: string;
  ended_at: string | null;
  duration_s: number;
  node_url?: string | null;
}

export function toRecording(row: RecordingRecord): RecordingRow {
  const recording: RecordingRow = { id: row.id, streamId: row.stream_id, title: row.title, state: row.state, startedAt: row.started_at, endedAt: row.ended_at, durationS: row.duration_s };
  if (row.node_url) recording.nodeUrl = row.node_url;
  return recording;
}

/** A row of recording_segments (PostgreSQL hands BIGINT back as a string). */
export interface SegmentRecord {
  recording_id: string;
  kind: MediaKind;
  idx: number;
  file: string;
  start_s: number;
  duration_s: number;
  bytes: number | string;
}

export function toSegment(row: SegmentRecord): SegmentRow {
  return { recordingId: row.recording_id, kind: row.kind, index: row.idx, file: row.file, startS: row.start_s, durationS: row.duration_s, bytes: Number(row.bytes) };
}

/** Events read per query while iterating a recording's log. */
export const EVENT_PAGE = 1000;

/** A WHERE clause with `?` placeholders, shared by both catalogs (PostgreSQL numbers them). */
export interface WhereClause {
  sql: string;
  values: (string | number)[];
}

/** The recordings a list filter selects (an empty sql: all of them). */
export function recordingWhere(filter: RecordingFilter): WhereClause {
  const where: string[] = [];
  const values: string[] = [];
  addCondition(where, values, 'stream_id = ?', filter.streamId);
  addCondition(where, values, 'started_at >= ?', filter.from);
  addCondition(where, values, 'started_at <= ?', filter.to);
  return { sql: where.length ? ` WHERE ${where.join(' AND ')}` : '', values };
}

/** Adds `condition` with its one value to a clause when the filter sets that value. */
function addCondition<T extends string | number>(where: string[], values: T[], condition: string, value: T | undefined): void {
  if (value === undefined) return;
  where.push(condition);
  values.push(value);
}

/** The events of one recording an event filter selects. */
export function eventWhere(recordingId: string, filter: EventFilter): WhereClause {
  const where = ['recording_id = ?'];
  const values: (string | number)[] = [recordingId];
  if (filter.types && filter.types.length > 0) {
    where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
    values.push(...filter.types);
  }
  addCondition(where, values, 't >= ?', filter.fromS);
  addCondition(where, values, 't <= ?', filter.toS);
  return { sql: ` WHERE ${where.join(' AND ')}`, values };
}

/** The keyset condition of the page after the event at (t, seq), appended to an eventWhere clause. */
export const AFTER_EVENT = ' AND (t > ? OR (t = ? AND seq > ?))';

/** Pages through a log: `page(after)` reads the next EVENT_PAGE events in (t, seq) order after `after`. */
export async function* pagedEvents(page: (after: { t: number; seq: number } | undefined) => Promise<{ seq: number; t: number; type: string; payload: string }[]>): AsyncIterableIterator<RecordingEvent> {
  let rows = await page(undefined);
  while (rows.length > 0) {
    for (const row of rows) yield { seq: row.seq, t: row.t, type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown> };
    if (rows.length < EVENT_PAGE) return;
    const last = rows[rows.length - 1]!;
    rows = await page({ t: last.t, seq: last.seq });
  }
}

/**
 * Where recordings, their media segments and their event logs are kept: the seam a networked catalog
 * (PostgreSQL) implements. Plain data in and out, every call asynchronous; `SqliteRecordingCatalog`
 * (livefx.db) is the default.
 */
export interface RecordingCatalogStore {
  create(recording: RecordingRow): Promise<RecordingRow>;
  /** A finished recording with its segments and events, all or nothing (an import). */
  insertRecording(recording: RecordingRow, segments: readonly SegmentRow[], events: readonly RecordingEvent[]): Promise<void>;
  get(id: string): Promise<RecordingRow | undefined>;
  /** Newest first. */
  list(filter?: RecordingFilter): Promise<RecordingRow[]>;
  /** Oldest first. */
  inState(state: RecordingState): Promise<RecordingRow[]>;
  finish(id: string, state: Exclude<RecordingState, 'recording'>, endedAt: string, durationS: number): Promise<void>;
  /** Registers a segment; registering the same (kind, index) again is a no-op. */
  addSegment(segment: SegmentRow): Promise<void>;
  /** In index order (all kinds: by kind, then index). */
  segments(recordingId: string, kind?: MediaKind): Promise<SegmentRow[]>;
  /** Inserts events atomically; events already there (same seq) are skipped. Resolves to how many were new. */
  insertEvents(recordingId: string, events: readonly RecordingEvent[]): Promise<number>;
  /** In time order (then append order), read in pages so a long log never sits in memory whole. */
  events(recordingId: string, filter?: EventFilter): AsyncIterable<RecordingEvent>;
  /** Ids of the chat messages an operator removed (`moderation` events with action `remove-chat`); the `chat` events themselves stay. */
  removedChatIds(recordingId: string): Promise<Set<string>>;
  eventSeqs(recordingId: string): Promise<Set<number>>;
  /** Number of events of each type. */
  eventCounts(recordingId: string): Promise<Map<string, number>>;
  /** Seconds of the last event (0 without events). */
  lastEventTime(recordingId: string): Promise<number>;
  /** Removes the recording with its segments and events (the files are the caller's); false when there was none. */
  delete(id: string): Promise<boolean>;
}

/** Every event of a recording, in time order, as one array (analysis needs them all at once). */
export async function allEvents(catalog: RecordingCatalogStore, recordingId: string, filter?: EventFilter): Promise<RecordingEvent[]> {
  const events: RecordingEvent[] = [];
  for await (const event of catalog.events(recordingId, filter)) events.push(event);
  return events;
}
