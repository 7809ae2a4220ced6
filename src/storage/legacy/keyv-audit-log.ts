import type { Keyv } from 'keyv';
import { z } from 'zod';
import type { AuditEntry, AuditLog, GroupId } from '../../core/index.ts';
import { KeyedSerialQueue, StorageError } from '../../core/index.ts';
import { AUDIT_ENTRIES_KEPT, scrubEntry } from '../../core/library/index.ts';
import { groupKey, requireThrowingKeyv, storageCall } from './indexed-records.ts';

const entrySchema = z.object({
  at: z.string(),
  by: z.string().optional(),
  byName: z.string().optional(),
  action: z.enum(['enroll', 'name', 'not-this', 'forget', 'threshold', 'settings']),
  detail: z.string(),
});

/**
 * `AuditLog` on keyv: one value per group holding its newest entries, newest first. A short capped
 * list is key-value data by nature; appends of one group are serialised so none is lost.
 */
export class KeyvAuditLog implements AuditLog {
  private readonly writes = new KeyedSerialQueue();

  constructor(
    private readonly keyv: Keyv<unknown>,
    private readonly kept = AUDIT_ENTRIES_KEPT,
  ) {
    requireThrowingKeyv(keyv);
  }

  record(group: GroupId, entry: AuditEntry): Promise<void> {
    return this.writes.run(group, async () => {
      const entries = await this.read(group);
      const next = [entry, ...entries].slice(0, this.kept);
      await storageCall('audit.record', 'could not write the audit log', () => this.keyv.set(groupKey(group, 'audit'), next));
    });
  }

  scrub(group: GroupId, person: { readonly name: string; readonly userId?: string }): Promise<void> {
    return this.writes.run(group, async () => {
      const entries = (await this.read(group)).map((e) => scrubEntry(e, person));
      await storageCall('audit.scrub', 'could not write the audit log', () => this.keyv.set(groupKey(group, 'audit'), entries));
    });
  }

  forgetGroup(group: GroupId): Promise<void> {
    return this.writes.run(group, () =>
      storageCall('audit.forgetGroup', 'could not delete the audit log', () => this.keyv.delete(groupKey(group, 'audit'))).then(() => undefined),
    );
  }

  async list(group: GroupId, limit: number): Promise<AuditEntry[]> {
    return (await this.read(group)).slice(0, limit);
  }

  private async read(group: GroupId): Promise<AuditEntry[]> {
    const value = await storageCall('audit.list', 'could not read the audit log', () => this.keyv.get(groupKey(group, 'audit')));
    if (value === undefined) return [];
    const parsed = z.array(entrySchema).safeParse(value);
    if (!parsed.success) throw new StorageError(`the audit log of ${group} does not parse`, 'audit.list');
    return parsed.data.map((e) => ({
      at: e.at,
      action: e.action,
      detail: e.detail,
      ...(e.by !== undefined ? { by: e.by } : {}),
      ...(e.byName !== undefined ? { byName: e.byName } : {}),
    }));
  }
}
