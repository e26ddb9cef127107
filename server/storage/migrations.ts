import type { Migration } from '../../core/database.js';
import { recordingMigrations } from '../../recorder/recording-catalog.js';
import { presetMigrations } from './preset-store.js';
import { highlightMigrations } from '../../core/jobs/sqlite-job-queue.js';
import { authMigrations } from '../auth/token-store.js';
import { storyboardMigrations } from '../../studio/sqlite-storyboard-store.js';
import { idempotencyMigrations } from './idempotency-store.js';

/**
 * Every schema migration of livefx.db, in the order they apply. Each feature keeps its own list
 * beside its store and appends it here (ids are prefixed by feature, so lists never collide).
 */
export const MIGRATIONS: readonly Migration[] = [...presetMigrations, ...recordingMigrations, ...highlightMigrations, ...authMigrations, ...storyboardMigrations, ...idempotencyMigrations];
