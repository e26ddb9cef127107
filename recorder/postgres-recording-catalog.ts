import { numberPlaceholders, type PostgresDatabase, type PostgresQueryable } from '../core/postgres-database.js';
import {
  AFTER_EVENT,
  EVENT_PAGE,
  eventWhere,
  pagedEvents,
  recordingWhere,
  toRecording,
  toSegment,
  type EventFilter,
  type MediaKind,
  type RecordingCatalogStore,
  type RecordingEvent,
  type RecordingFilter,
  type RecordingRecord,
  type RecordingRow,
  type RecordingState,
  type SegmentRecord,
  type SegmentRow,
} from './recording-catalog.js';

export interface PostgresRecordingCatalogOptions {
  database: PostgresDatabase;
  /** This node's LIVEFX_NODE_URL: stamped on the recordings it inserts (their files are on this node). */
  nodeUrl?: string | undefined;
}

/**
 * Recordings, segments and event logs in the shared PostgreSQL database: every node lists the same
 * catalog. Batches go in as one statement over arrays (unnest), so an append is one round trip and atomic.
 */
export class PostgresRecordingCatalog implements RecordingCatalogStore {
  private readonly database: PostgresDatabase;
  private readonly nodeUrl: string | undefined;

  constructor(options: PostgresRecordingCatalogOptions) {
    this.database = options.database;
    this.nodeUrl = options.nodeUrl;
  }

  async create(recording: RecordingRow): Promise<RecordingRow> {
    const held = this.held(recording);
    await insertRow(this.database, held);
    return held;
  }

  private held(recording: RecordingRow): RecordingRow {
    return this.nodeUrl === undefined || recording.nodeUrl !== undefined ? recording : { ...recording, nodeUrl: this.nodeUrl };
  }

  async insertRecording(recording: RecordingRow, segments: readonly SegmentRow[], events: readonly RecordingEvent[]): Promise<void> {
    await this.database.transaction(async (client) => {
      await insertRow(client, this.held(recording));
      await insertSegments(client, segments);
      await insertEventBatch(client, recording.id, events);
    });
  }

  async get(id: string): Promise<RecordingRow | undefined> {
    return this.database.queryOne('SELECT * FROM recordings WHERE id = $1', [id], toRecording);
  }

  async list(filter: RecordingFilter = {}): Promise<RecordingRow[]> {
    const where = recordingWhere(filter);
    const { rows } = await this.database.query<RecordingRecord>(`SELECT * FROM recordings${numberPlaceholders(where.sql)} ORDER BY started_at COLLATE "C" DESC, id COLLATE "C"`, where.values);
    return rows.map(toRecording);
  }

  async inState(state: RecordingState): Promise<RecordingRow[]> {
    return (await this.database.query<RecordingRecord>('SELECT * FROM recordings WHERE state = $1 ORDER BY started_at COLLATE "C"', [state])).rows.map(toRecording);
  }

  async finish(id: string, state: Exclude<RecordingState, 'recording'>, endedAt: string, durationS: number): Promise<void> {
    await this.database.query('UPDATE recordings SET state = $1, ended_at = $2, duration_s = $3 WHERE id = $4', [state, endedAt, durationS, id]);
  }

  async addSegment(segment: SegmentRow): Promise<void> {
    await insertSegments(this.database, [segment]);
  }

  async segments(recordingId: string, kind?: MediaKind): Promise<SegmentRow[]> {
    const { rows } = kind
      ? await this.database.query<SegmentRecord>('SELECT * FROM recording_segments WHERE recording_id = $1 AND kind = $2 ORDER BY idx', [recordingId, kind])
      : await this.database.query<SegmentRecord>('SELECT * FROM recording_segments WHERE recording_id = $1 ORDER BY kind COLLATE "C", idx', [recordingId]);
    return rows.map(toSegment);
  }

  async insertEvents(recordingId: string, events: readonly RecordingEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    return insertEventBatch(this.database, recordingId, events);
  }

  events(recordingId: string, filter: EventFilter = {}): AsyncIterableIterator<RecordingEvent> {
    const where = eventWhere(recordingId, filter);
    const select = `SELECT seq, t, type, payload FROM recording_events${numberPlaceholders(where.sql)}`;
    const first = `${select} ORDER BY t, seq LIMIT ${EVENT_PAGE}`;
    const next = `${select}${numberPlaceholders(AFTER_EVENT, where.values.length + 1)} ORDER BY t, seq LIMIT ${EVENT_PAGE}`;
    type EventRecord = { seq: number; t: number; type: string; payload: string };
    return pagedEvents(async (after) => (await this.database.query<EventRecord>(after ? next : first, after ? [...where.values, after.t, after.t, after.seq] : where.values)).rows);
  }

  async removedChatIds(recordingId: string): Promise<Set<string>> {
    const { rows } = await this.database.query<{ id: unknown }>(
      `SELECT payload::jsonb ->> 'messageId' AS id FROM recording_events WHERE recording_id = $1 AND type = 'moderation' AND payload::jsonb ->> 'action' = 'remove-chat'`,
      [recordingId],
    );
    return new Set(rows.flatMap((row) => (typeof row.id === 'string' ? [row.id] : [])));
  }

  async eventSeqs(recordingId: string): Promise<Set<number>> {
    return new Set((await this.database.query<{ seq: number }>('SELECT seq FROM recording_events WHERE recording_id = $1', [recordingId])).rows.map((row) => row.seq));
  }

  async eventCounts(recordingId: string): Promise<Map<string, number>> {
    const { rows } = await this.database.query<{ type: string; count: number }>('SELECT type, COUNT(*)::integer AS count FROM recording_events WHERE recording_id = $1 GROUP BY type', [recordingId]);
    return new Map(rows.map((row) => [row.type, row.count]));
  }

  async lastEventTime(recordingId: string): Promise<number> {
    const { rows } = await this.database.query<{ t: number | null }>('SELECT MAX(t) AS t FROM recording_events WHERE recording_id = $1', [recordingId]);
    return rows[0]?.t ?? 0;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.database.query('DELETE FROM recordings WHERE id = $1', [id])).rowCount > 0;
  }
}

async function insertRow(on: PostgresQueryable, recording: RecordingRow): Promise<void> {
  await on.query('INSERT INTO recordings (id, stream_id, title, state, started_at, ended_at, duration_s, node_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
    recording.id,
    recording.streamId,
    recording.title,
    recording.state,
    recording.startedAt,
    recording.endedAt,
    recording.durationS,
    recording.nodeUrl ?? null,
  ]);
}

async function insertSegments(on: PostgresQueryable, segments: readonly SegmentRow[]): Promise<void> {
  if (segments.length === 0) return;
  await on.query(
    `INSERT INTO recording_segments (recording_id, kind, idx, file, start_s, duration_s, bytes)
     SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::float8[], $6::float8[], $7::bigint[])
     ON CONFLICT DO NOTHING`,
    [
      segments.map((segment) => segment.recordingId),
      segments.map((segment) => segment.kind),
      segments.map((segment) => segment.index),
      segments.map((segment) => segment.file),
      segments.map((segment) => segment.startS),
      segments.map((segment) => segment.durationS),
      segments.map((segment) => segment.bytes),
    ],
  );
}

/** How many of the events were new (a seq already stored is skipped). */
async function insertEventBatch(on: PostgresQueryable, recordingId: string, events: readonly RecordingEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const { rowCount } = await on.query(
    `INSERT INTO recording_events (recording_id, seq, t, type, payload)
     SELECT $1::text, * FROM unnest($2::integer[], $3::float8[], $4::text[], $5::text[])
     ON CONFLICT DO NOTHING`,
    [recordingId, events.map((event) => event.seq), events.map((event) => event.t), events.map((event) => event.type), events.map((event) => JSON.stringify(event.payload))],
  );
  return rowCount;
}
