import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { AuditEntry, AuditLog, GroupId, GroupSettings, PendingWork, ReplyMode, SettingsStore, UnknownCluster } from '../../core/index.ts';
import { StorageError } from '../../core/index.ts';
import { AUDIT_ENTRIES_KEPT, scrubEntry } from '../../core/library/index.ts';
import { storageCall } from '../storage-call.ts';
import type { LibrarySchema } from './schema.ts';

type Db = Kysely<LibrarySchema>;

const pendingSchema = z.object({
  refile: z.boolean().optional(),
  forget: z.string().optional(),
  forgetScope: z.enum(['everything', 'self', 'self-and-posts']).optional(),
});
const clustersSchema = z.array(z.object({ id: z.number(), faces: z.array(z.object({ photoHash: z.string(), faceIndex: z.number() })) }));
const AUDIT_ACTIONS = ['enroll', 'name', 'not-this', 'forget', 'threshold', 'settings'] as const;

function parsed<T>(schema: z.ZodType<T>, text: string, what: string, operation: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new StorageError(`the stored ${what} is unreadable`, operation, { cause });
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new StorageError(`the stored ${what} is unreadable`, operation, { cause: result.error });
  return result.data;
}

/** `SettingsStore` on the settings and clusters tables: one row each per group. */
export class SqlSettingsStore implements SettingsStore {
  constructor(private readonly db: Db) {}

  get(group: GroupId): Promise<GroupSettings | undefined> {
    return storageCall('settings.get', 'the settings could not be read', async () => {
      const row = await this.db.selectFrom('settings').selectAll().where('group_id', '=', group).executeTakeFirst();
      if (!row) return undefined;
      if (row.reply_mode !== 'quiet' && row.reply_mode !== 'summary') throw new StorageError('the stored settings are unreadable', 'settings.get');
      const pending = row.pending === null ? undefined : parsed(pendingSchema, row.pending, 'pending work', 'settings.get');
      return {
        threshold: row.threshold,
        replyMode: row.reply_mode satisfies ReplyMode,
        ...(row.removed_at !== null ? { removedAt: row.removed_at } : {}),
        ...(row.moving_from !== null ? { movingFrom: row.moving_from } : {}),
        ...(pending ? { pending: withoutUndefined(pending) } : {}),
        ...(row.forgotten_at !== null ? { forgottenAt: row.forgotten_at } : {}),
      };
    });
  }

  save(group: GroupId, settings: GroupSettings): Promise<void> {
    return storageCall('settings.save', 'the settings could not be written', async () => {
      const row = {
        threshold: settings.threshold,
        reply_mode: settings.replyMode,
        removed_at: settings.removedAt ?? null,
        moving_from: settings.movingFrom ?? null,
        pending: settings.pending ? JSON.stringify(settings.pending) : null,
        forgotten_at: settings.forgottenAt ?? null,
      };
      await this.db
        .insertInto('settings')
        .values({ group_id: group, ...row })
        .onConflict((oc) => oc.column('group_id').doUpdateSet(row))
        .execute();
    });
  }

  getClusters(group: GroupId): Promise<UnknownCluster[] | undefined> {
    return storageCall('settings.getClusters', 'the unknown-face clusters could not be read', async () => {
      const row = await this.db.selectFrom('clusters').select('clusters').where('group_id', '=', group).executeTakeFirst();
      return row ? parsed(clustersSchema, row.clusters, 'cluster list', 'settings.getClusters') : undefined;
    });
  }

  saveClusters(group: GroupId, clusters: readonly UnknownCluster[]): Promise<void> {
    return storageCall('settings.saveClusters', 'the unknown-face clusters could not be written', async () => {
      const text = JSON.stringify(clusters);
      await this.db
        .insertInto('clusters')
        .values({ group_id: group, clusters: text })
        .onConflict((oc) => oc.column('group_id').doUpdateSet({ clusters: text }))
        .execute();
    });
  }

  /** Removes the group's settings and clusters. */
  forgetGroup(group: GroupId): Promise<void> {
    return storageCall('settings.forgetGroup', 'the settings could not be deleted', () =>
      this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('settings').where('group_id', '=', group).execute();
        await tx.deleteFrom('clusters').where('group_id', '=', group).execute();
      }),
    );
  }
}

function withoutUndefined(pending: z.infer<typeof pendingSchema>): PendingWork {
  return {
    ...(pending.refile !== undefined ? { refile: pending.refile } : {}),
    ...(pending.forget !== undefined ? { forget: pending.forget } : {}),
    ...(pending.forgetScope !== undefined ? { forgetScope: pending.forgetScope } : {}),
  };
}

/** `AuditLog` on the audit table: appended to, read newest first, trimmed to the newest entries. */
export class SqlAuditLog implements AuditLog {
  constructor(
    private readonly db: Db,
    private readonly kept = AUDIT_ENTRIES_KEPT,
  ) {}

  record(group: GroupId, entry: AuditEntry): Promise<void> {
    return storageCall('audit.record', 'could not write the audit log', () =>
      this.db.transaction().execute(async (tx) => {
        await tx
          .insertInto('audit')
          .values({ group_id: group, at: entry.at, by_user: entry.by ?? null, by_name: entry.byName ?? null, action: entry.action, detail: entry.detail })
          .execute();
        const oldestKept = await tx
          .selectFrom('audit')
          .select('id')
          .where('group_id', '=', group)
          .orderBy('id', 'desc')
          .offset(this.kept - 1)
          .limit(1)
          .executeTakeFirst();
        if (oldestKept) await tx.deleteFrom('audit').where('group_id', '=', group).where('id', '<', oldestKept.id).execute();
      }),
    );
  }

  list(group: GroupId, limit: number): Promise<AuditEntry[]> {
    return storageCall('audit.list', 'could not read the audit log', async () => {
      const rows = await this.db.selectFrom('audit').selectAll().where('group_id', '=', group).orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => {
        const action = AUDIT_ACTIONS.find((a) => a === r.action);
        if (!action) throw new StorageError('the audit log is unreadable', 'audit.list');
        return { at: r.at, action, detail: r.detail, ...(r.by_user !== null ? { by: r.by_user } : {}), ...(r.by_name !== null ? { byName: r.by_name } : {}) };
      });
    });
  }

  forgetGroup(group: GroupId): Promise<void> {
    return storageCall('audit.forgetGroup', 'could not delete the audit log', async () => {
      await this.db.deleteFrom('audit').where('group_id', '=', group).execute();
    });
  }

  scrub(group: GroupId, person: { readonly name: string; readonly userId?: string }): Promise<void> {
    return storageCall('audit.scrub', 'could not write the audit log', () =>
      this.db.transaction().execute(async (tx) => {
        const rows = await tx.selectFrom('audit').selectAll().where('group_id', '=', group).execute();
        for (const row of rows) {
          const entry: AuditEntry = {
            at: row.at,
            action: row.action as AuditEntry['action'],
            detail: row.detail,
            ...(row.by_user !== null ? { by: row.by_user } : {}),
            ...(row.by_name !== null ? { byName: row.by_name } : {}),
          };
          const scrubbed = scrubEntry(entry, person);
          if (scrubbed.detail === entry.detail && scrubbed.by === entry.by && scrubbed.byName === entry.byName) continue;
          await tx
            .updateTable('audit')
            .set({ detail: scrubbed.detail, by_user: scrubbed.by ?? null, by_name: scrubbed.byName ?? null })
            .where('id', '=', row.id)
            .execute();
        }
      }),
    );
  }
}
