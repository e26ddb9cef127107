import type { Storyboard, StoryboardBody } from './storyboard.js';

// The seams between the studio's parts: the planner side (storyboards, templates) and the render side
// (compositor, renders) meet here, so either can change its inside without the other.

/** Who asks: the studio uses only media this caller may read (private streams' recordings stay private). */
export interface StudioCaller {
  role: 'admin' | 'operator';
  /** Set for an operator of one stream: only that stream's recordings are readable. */
  streamId?: string;
  /** A label for provenance and logs (never the token). */
  label?: string;
}

/** Stored storyboards (SQLite by default; any catalog that returns Promises). */
export interface StoryboardStore {
  create(body: StoryboardBody, provenance: Storyboard['provenance']): Promise<Storyboard>;
  get(id: string): Promise<Storyboard | undefined>;
  /** Newest first. */
  list(): Promise<Storyboard[]>;
  /** Replaces the body (validated as a whole by the caller); undefined for an unknown id. */
  replace(id: string, body: StoryboardBody): Promise<Storyboard | undefined>;
  delete(id: string): Promise<boolean>;
}

export interface TemplateField {
  name: string;
  type: 'text' | 'color' | 'asset' | 'recording' | 'duration' | 'number' | 'boolean';
  required: boolean;
  default?: unknown;
}

export interface TemplateSummary {
  name: string;
  description: string;
  duration_s: number;
  aspect: StoryboardBody['aspect'];
  fields: TemplateField[];
  builtin: boolean;
}

/** Templates: the built-ins shipped in studio/templates/ and those users upload. */
export interface TemplateLibrary {
  list(): Promise<TemplateSummary[]>;
  /** The template's JSON as stored; undefined for an unknown name. */
  get(name: string): Promise<unknown | undefined>;
  /**
   * Fills a template (by name, or a template document given inline) with merge values and sources:
   * a storyboard body ready to render. Throws LivefxError: unknown template (404), a missing required
   * field or a value of the wrong type (422, naming the field).
   */
  expand(template: string | object, merge: Record<string, unknown>, sources: { recording_ids?: string[]; asset_ids?: string[] }, caller: StudioCaller, seed?: number): Promise<StoryboardBody>;
}
