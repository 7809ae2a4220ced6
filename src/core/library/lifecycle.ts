import type { GroupId } from '../group-id.ts';
import type { LibraryContext } from './context.ts';
import { refileGroup } from './refile.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Gives a group's library to a new id: Telegram gives a group upgraded to a supergroup a new chat
 * id, and without this its people, photos and albums would be orphaned. Whatever the new id
 * already has (photos posted there before the move was noticed) is kept and merged. A marker in the
 * new id's settings says a move is under way, so that an interrupted one is finished at the next
 * start (`resumeInterrupted`) rather than leaving records whose files moved, or the reverse.
 */
export async function moveGroup(ctx: LibraryContext, from: GroupId, to: GroupId): Promise<void> {
  if (from === to) return;
  const { gallery, photos, settings, albums, audit } = ctx.deps;
  const [ownSettings, oldSettings] = await Promise.all([settings.get(to), settings.get(from)]);
  const base = ownSettings ?? oldSettings ?? (await ctx.settingsOf(to));
  await settings.save(to, { ...base, movingFrom: from });
  await albums.moveGroup(from, to);
  const [movingPeople, movingPhotos, known] = await Promise.all([gallery.list(from), photos.list(from), gallery.list(to)]);
  const knownIds = new Set(known.map((p) => p.id));
  for (const person of movingPeople) if (!knownIds.has(person.id)) await gallery.save(to, person);
  for (const record of movingPhotos) if (!(await photos.get(to, record.hash))) await photos.save(to, record);
  if (audit) {
    for (const entry of (await audit.list(from, 1000)).reverse()) await audit.record(to, entry);
    await audit.forgetGroup(from);
  }
  for (const person of movingPeople) await gallery.delete(from, person.id);
  for (const record of movingPhotos) await photos.delete(from, record.hash);
  await settings.forgetGroup?.(from);
  const { movingFrom: _done, ...settled } = base;
  await settings.save(to, settled);
  // Two libraries merged: each photo is decided again against everyone now enrolled.
  await refileGroup(ctx, to);
  ctx.log.info({ from, to }, 'moved a group to its new id');
}

/** The bot was removed from the group: its data is erased once the grace period has passed. */
export async function markRemoved(ctx: LibraryContext, group: GroupId): Promise<void> {
  const current = await ctx.settingsOf(group);
  if (current.removedAt === undefined) await ctx.deps.settings.save(group, { ...current, removedAt: ctx.now().toISOString() });
}

/** The bot is back in the group before its data was erased: nothing will be. */
export async function markPresent(ctx: LibraryContext, group: GroupId): Promise<void> {
  const current = await ctx.deps.settings.get(group);
  if (current?.removedAt === undefined) return;
  const { removedAt: _cleared, ...rest } = current;
  await ctx.deps.settings.save(group, rest);
}

/** Erases every group the bot left more than `graceDays` ago; returns the groups erased. */
export async function eraseLeftGroups(ctx: LibraryContext, graceDays: number): Promise<GroupId[]> {
  const cutoff = ctx.now().getTime() - graceDays * DAY_MS;
  const erased: GroupId[] = [];
  for (const group of await ctx.deps.albums.groups()) {
    const removedAt = (await ctx.deps.settings.get(group))?.removedAt;
    if (removedAt === undefined || new Date(removedAt).getTime() > cutoff) continue;
    await ctx.serial(group, () => eraseGroup(ctx, group));
    erased.push(group);
  }
  if (erased.length > 0) await ctx.deps.compact?.();
  return erased;
}

/** Deletes everything of a group: people and their samples, photo records and faces, settings, log, import cursors, files. */
export async function eraseGroup(ctx: LibraryContext, group: GroupId): Promise<void> {
  const { gallery, photos, settings, albums, audit } = ctx.deps;
  for (const person of await gallery.list(group)) await gallery.delete(group, person.id);
  for (const record of await photos.list(group)) await photos.delete(group, record.hash);
  await settings.forgetGroup?.(group);
  await audit?.forgetGroup(group);
  await ctx.deps.importCursors?.remove(group);
  // Files last: while records remain, the consistency check could still explain every file.
  await albums.removeGroup(group);
  ctx.log.info({ group }, 'erased a group the bot was removed from');
}
