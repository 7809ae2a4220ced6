import type { LibraryContext } from './context.ts';
import { forgetPerson } from './forgetting.ts';
import { moveGroup } from './lifecycle.ts';
import { endWork } from './pending.ts';
import { refileGroup } from './refile.ts';

/**
 * Finishes, group by group, what a killed process left under way: a group move first (until it is
 * done, records and files disagree on purpose), then the pending work.
 */
export async function resumeInterrupted(ctx: LibraryContext): Promise<void> {
  for (const group of await ctx.deps.albums.groups()) {
    const noted = await ctx.deps.settings.get(group);
    const from = noted?.movingFrom;
    if (from !== undefined) await ctx.serial(from, () => ctx.serial(group, () => moveGroup(ctx, from, group)));
    // The move rewrote the settings; otherwise what was read above is still current.
    const pending = (from === undefined ? noted : await ctx.deps.settings.get(group))?.pending;
    if (!pending) continue;
    await ctx.serial(group, async () => {
      if (pending.forget !== undefined) {
        const person = (await ctx.deps.gallery.list(group)).find((p) => p.id === pending.forget);
        if (person) await forgetPerson(ctx, group, person, pending.forgetScope ?? 'self');
        await endWork(ctx, group, 'forget');
      }
      if (pending.refile) {
        await refileGroup(ctx, group);
        await endWork(ctx, group, 'refile');
      }
    });
    ctx.log.warn({ group, pending }, 'finished work that an interrupted run left');
  }
}
