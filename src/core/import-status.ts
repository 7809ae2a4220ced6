import type { ImportCursor } from './ports.ts';

/**
 * The cursor of an import from files (a Telegram Desktop export, a folder): one a group, beside
 * the cursors of a Discord import's channels, which are channel ids.
 */
export const FILE_IMPORT_CHANNEL = 'files';

/** Where one of a group's history imports stands: what /stats and the importer's log say of it. */
export interface ImportStatus {
  /** Photos done: filed or queued for filing, or given up on. */
  readonly photos: number;
  /** Photos in all, when known before it started (an import from files). */
  readonly of?: number;
  /** A Discord import: channels read to their first message, of how many. */
  readonly channels?: { readonly read: number; readonly of: number };
  /** Photos a minute, once a photo is done. */
  readonly perMinute?: number;
  readonly secondsLeft?: number;
  /** Stopped half way (Ctrl-C, a failure): it goes on when it is run again. */
  readonly paused: boolean;
  /**
   * Minutes since it last moved, when that is long (`STALLED_AFTER_MS`): an importer killed without
   * a word (the machine rebooted, SIGKILL), or a bot that files its hand-off only between a busy
   * group's posts. Its pace and time left would be stale, so none is given.
   */
  readonly stalledMinutes?: number;
}

/** No progress for this long and an import is said to have stalled rather than to be under way. */
export const STALLED_AFTER_MS = 20 * 60 * 1000;

/**
 * The imports of a group not yet finished, from their cursors as the library keeps them (so that
 * any process, the importer's or another bot's, reads the same): the import from files, then the
 * Discord one. Finished imports are not shown.
 */
export function importStatuses(cursors: readonly ImportCursor[], now = Date.now()): ImportStatus[] {
  const files = cursors.filter((c) => c.channel === FILE_IMPORT_CHANNEL);
  const channels = cursors.filter((c) => c.channel !== FILE_IMPORT_CHANNEL);
  return [files, channels].filter((set) => set.some((c) => !c.done)).map((set) => statusOf(set, now));
}

function statusOf(cursors: readonly ImportCursor[], now: number): ImportStatus {
  const photos = cursors.reduce((sum, c) => sum + c.queued + c.skipped, 0);
  const known = cursors.every((c) => c.total !== undefined);
  const of = known ? cursors.reduce((sum, c) => sum + c.total!, 0) : undefined;
  const started = Math.min(...cursors.map((c) => Date.parse(c.startedAt)));
  // A channel not yet begun has no time of its own, nor does a cursor kept before times were.
  const updated = Math.max(...cursors.flatMap((c) => (c.updatedAt ? [Date.parse(c.updatedAt)] : [])));
  const minutes = (updated - started) / 60_000;
  const perMinute = photos > 0 && minutes > 0 ? photos / minutes : undefined;
  const isChannels = cursors.some((c) => c.channel !== FILE_IMPORT_CHANNEL);
  const paused = cursors.some((c) => !c.done && c.problem !== undefined);
  const lastMoved = Math.max(started, updated);
  const stalled = !paused && now - lastMoved >= STALLED_AFTER_MS ? Math.floor((now - lastMoved) / 60_000) : undefined;
  return {
    photos,
    ...(of !== undefined ? { of } : {}),
    ...(isChannels ? { channels: { read: cursors.filter((c) => c.done).length, of: cursors.length } } : {}),
    ...(perMinute !== undefined && stalled === undefined ? { perMinute } : {}),
    ...(perMinute !== undefined && of !== undefined && stalled === undefined ? { secondsLeft: (Math.max(0, of - photos) / perMinute) * 60 } : {}),
    paused,
    ...(stalled !== undefined ? { stalledMinutes: stalled } : {}),
  };
}

/** A duration as people read it: 45 s, 12 min, 3 h 20 min. */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  return `${hours} h ${Math.round((seconds - hours * 3600) / 60)} min`;
}
