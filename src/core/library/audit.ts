import type { AuditEntry } from '../ports.ts';
import type { GroupId } from '../group-id.ts';
import type { LibraryContext } from './context.ts';
import type { Actor, DismissResult, EnrollResult, ForgetResult, NameClusterResult, NotThisResult, SetThresholdResult } from './results.ts';

/** What each change says in the log; undefined where nothing changed (a refusal, a bad number). */
export const describe = {
  enroll: (r: EnrollResult) => (r.kind === 'enrolled' ? `added a face sample to ${r.person.name}${r.newPerson ? ' (new person)' : ''}` : undefined),
  name: (r: NameClusterResult) => (r.kind === 'named' ? `named a cluster of unknown faces ${r.person.name}; filed ${r.filed} photos` : undefined),
  notThis: (r: NotThisResult) => (r.kind === 'removed' ? `took a photo out of ${r.person.name}'s album` : undefined),
  dismiss: (r: DismissResult) => (r.kind === 'dismissed' ? `said a face offered as ${r.person.name} is not them` : undefined),
  // The forgotten person's name is not kept: the log says that a forgetting happened, not of whom.
  forget: (r: ForgetResult, self: boolean) =>
    r.kind === 'forgotten' ? `forgot ${self ? 'themselves' : 'a person'}: ${r.photosDeleted} photos and ${r.facesErased} stored faces deleted` : undefined,
  threshold: (r: SetThresholdResult) => (r.kind === 'set' ? `set the threshold from ${r.previous.toFixed(3)} to ${r.threshold.toFixed(3)}` : undefined),
} as const;

/** The words a forgotten person's name is replaced with in the log. */
export const FORGOTTEN = 'a forgotten person';

/**
 * An entry with a forgotten person's name taken out. What they did to others stays theirs (a
 * forget must not hide vandalism); only their own entries about themselves (their enrolment, say)
 * lose who made them, which would otherwise name the person forgotten.
 */
export function scrubEntry(entry: AuditEntry, person: { readonly name: string; readonly userId?: string }): AuditEntry {
  // The name as a whole word: forgetting "Ann" leaves "Anna" alone.
  const mentions = new RegExp(`(?<![\\p{L}\\p{N}])${person.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'giu');
  const detail = entry.detail.replace(mentions, FORGOTTEN);
  const aboutThemselves = person.userId !== undefined && entry.by === person.userId && detail !== entry.detail;
  if (!aboutThemselves) return { ...entry, detail };
  const { by: _by, byName: _byName, ...rest } = entry;
  return { ...rest, detail };
}

/** Appends to the group's audit log when something changed; a failure to log never undoes the change. */
export async function audit(
  ctx: LibraryContext,
  group: GroupId,
  actor: Actor | undefined,
  action: AuditEntry['action'],
  detail: string | undefined,
): Promise<void> {
  if (!ctx.deps.audit || detail === undefined) return;
  const entry: AuditEntry = {
    at: ctx.now().toISOString(),
    action,
    detail,
    ...(actor?.userId !== undefined ? { by: actor.userId } : {}),
    ...(actor?.name !== undefined ? { byName: actor.name } : {}),
  };
  try {
    await ctx.deps.audit.record(group, entry);
  } catch (error) {
    ctx.log.error({ err: error, group, action }, 'could not write the audit log');
  }
}

/** How many entries a group's log keeps: enough for months of a group's changes. */
export const AUDIT_ENTRIES_KEPT = 500;
