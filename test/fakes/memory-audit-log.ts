import type { AuditEntry, AuditLog, GroupId } from '../../src/core/index.ts';
import { scrubEntry } from '../../src/core/library/index.ts';

/** `AuditLog` in memory, with the same cap and order as `KeyvAuditLog`. */
export class MemoryAuditLog implements AuditLog {
  private readonly groups = new Map<GroupId, AuditEntry[]>();

  constructor(private readonly kept = 500) {}

  record(group: GroupId, entry: AuditEntry): Promise<void> {
    this.groups.set(group, [structuredClone(entry), ...(this.groups.get(group) ?? [])].slice(0, this.kept));
    return Promise.resolve();
  }

  scrub(group: GroupId, person: { readonly name: string; readonly userId?: string }): Promise<void> {
    this.groups.set(
      group,
      (this.groups.get(group) ?? []).map((e) => scrubEntry(e, person)),
    );
    return Promise.resolve();
  }

  forgetGroup(group: GroupId): Promise<void> {
    this.groups.delete(group);
    return Promise.resolve();
  }

  list(group: GroupId, limit: number): Promise<AuditEntry[]> {
    return Promise.resolve(structuredClone((this.groups.get(group) ?? []).slice(0, limit)));
  }
}
