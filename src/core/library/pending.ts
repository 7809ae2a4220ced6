import type { PendingWork } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import type { LibraryContext } from './context.ts';

/**
 * Multi-step changes (a threshold's re-file, an enrolment's, a forgetting) write what they are
 * about to do into the group's settings before the first step and clear it after the last: a
 * process killed in between leaves the note, and `resumeInterrupted` (resume.ts) finishes the work at the next
 * start. Every step is safe to run twice.
 */
export async function beginWork(
  ctx: LibraryContext,
  group: GroupId,
  work: PendingWork,
  extra: { readonly threshold?: number; readonly forgottenAt?: string } = {},
): Promise<void> {
  const current = await ctx.settingsOf(group);
  await ctx.deps.settings.save(group, { ...current, ...extra, pending: { ...current.pending, ...work } });
}

export async function endWork(ctx: LibraryContext, group: GroupId, done: 'refile' | 'forget'): Promise<void> {
  const current = await ctx.settingsOf(group);
  if (!current.pending?.[done]) return;
  const { [done]: _finished, forgetScope, ...others } = current.pending;
  // A forget's scope goes with it.
  const left: PendingWork = done === 'forget' || forgetScope === undefined ? others : { ...others, forgetScope };
  const { pending: _old, ...rest } = current;
  await ctx.deps.settings.save(group, Object.keys(left).length > 0 ? { ...rest, pending: left } : rest);
}

/** Runs `change` (which ends with a re-file) with the re-file noted as pending until it is done. */
export async function refiling<T>(ctx: LibraryContext, group: GroupId, change: () => Promise<T>): Promise<T> {
  await beginWork(ctx, group, { refile: true });
  const result = await change();
  await endWork(ctx, group, 'refile');
  return result;
}
