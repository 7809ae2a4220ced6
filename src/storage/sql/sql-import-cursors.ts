import type { Kysely } from 'kysely';
import type { GroupId, ImportCursor, ImportCursors } from '../../core/index.ts';
import { storageCall } from '../storage-call.ts';
import type { HistoryImportsTable, LibrarySchema } from './schema.ts';

/** `ImportCursors` on the history_imports table: one row per group and channel. */
export class SqlImportCursors implements ImportCursors {
  constructor(private readonly db: Kysely<LibrarySchema>) {}

  list(group?: GroupId): Promise<ImportCursor[]> {
    return storageCall('imports.list', 'the history imports could not be read', async () => {
      let query = this.db.selectFrom('history_imports').selectAll();
      if (group !== undefined) query = query.where('group_id', '=', group);
      const rows = await query.orderBy('group_id').orderBy('channel_id').execute();
      return rows.map(cursorOf);
    });
  }

  save(cursor: ImportCursor): Promise<void> {
    return storageCall('imports.save', 'the history import could not be written', async () => {
      const row = {
        before_id: cursor.before ?? null,
        done: cursor.done ? 1 : 0,
        scanned: cursor.scanned,
        queued: cursor.queued,
        skipped: cursor.skipped,
        problem: cursor.problem ?? null,
        started_at: cursor.startedAt,
        requested_by: cursor.requestedBy ?? null,
        total: cursor.total ?? null,
        updated_at: cursor.updatedAt ?? null,
        announce_in: cursor.announceIn ?? null,
      };
      await this.db
        .insertInto('history_imports')
        .values({ group_id: cursor.group, channel_id: cursor.channel, ...row })
        .onConflict((conflict) => conflict.columns(['group_id', 'channel_id']).doUpdateSet(row))
        .execute();
    });
  }

  remove(group: GroupId, channels?: readonly string[]): Promise<number> {
    return storageCall('imports.remove', 'the history import could not be deleted', async () => {
      if (channels?.length === 0) return 0;
      let query = this.db.deleteFrom('history_imports').where('group_id', '=', group);
      if (channels !== undefined) query = query.where('channel_id', 'in', channels);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}

function cursorOf(row: HistoryImportsTable): ImportCursor {
  return {
    group: row.group_id,
    channel: row.channel_id,
    ...(row.before_id !== null ? { before: row.before_id } : {}),
    done: row.done === 1,
    scanned: row.scanned,
    queued: row.queued,
    skipped: row.skipped,
    ...(row.problem !== null ? { problem: row.problem } : {}),
    startedAt: row.started_at,
    ...(row.updated_at !== null ? { updatedAt: row.updated_at } : {}),
    ...(row.total !== null ? { total: row.total } : {}),
    ...(row.requested_by !== null ? { requestedBy: row.requested_by } : {}),
    ...(row.announce_in !== null ? { announceIn: row.announce_in } : {}),
  };
}
