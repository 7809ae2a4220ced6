import type { Person, PhotoRecord, ReplyMode } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { beginWork, endWork } from './pending.ts';
import { THRESHOLD_RANGE, scorePeople, similarityDistributions } from '../matcher.ts';
import type { LibraryContext } from './context.ts';
import { countChanges, photosBetween, planRefile, refileGroup } from './refile.ts';
import type { GroupSettingsView, SetThresholdResult, ThresholdReport } from './results.ts';

/** The thresholds an admin may set: below 0.8 this embedder calls most strangers alike. */
export { THRESHOLD_RANGE };

export async function settings(ctx: LibraryContext, group: GroupId): Promise<GroupSettingsView> {
  return ctx.settingsOf(group);
}

export async function setReplyMode(ctx: LibraryContext, group: GroupId, replyMode: ReplyMode): Promise<GroupSettingsView> {
  const next = { ...(await ctx.settingsOf(group)), replyMode };
  await ctx.deps.settings.save(group, next);
  return next;
}

/** Sets the group's threshold and re-files every photo so the albums agree with it. */
export async function setThreshold(ctx: LibraryContext, group: GroupId, threshold: number): Promise<SetThresholdResult> {
  if (!Number.isFinite(threshold) || threshold < THRESHOLD_RANGE.min || threshold > THRESHOLD_RANGE.max) {
    return { kind: 'out-of-range', ...THRESHOLD_RANGE };
  }
  const current = await ctx.settingsOf(group);
  // The new threshold and the note that photos are to be re-filed land in one write, first: from
  // here on a crash is finished at the next start (by a re-file of every photo).
  await beginWork(ctx, group, { refile: true }, { threshold });
  const scope = await photosBetween(ctx, group, await ctx.deps.gallery.list(group), current.threshold, threshold);
  const changes = scope.length === 0 ? [] : await refileGroup(ctx, group, { threshold, margin: ctx.deps.defaults.margin }, scope);
  await endWork(ctx, group, 'refile');
  return { kind: 'set', previous: current.threshold, threshold, ...countChanges(changes) };
}

/**
 * For admins: a plot of same-person against different-person similarities among the group's
 * samples and recognised faces, with the threshold marked; with `proposed`, how many photos a
 * change to it would move.
 */
export async function thresholdReport(ctx: LibraryContext, group: GroupId, proposed?: number): Promise<ThresholdReport> {
  const [current, people, records] = await Promise.all([ctx.settingsOf(group), ctx.deps.gallery.list(group), ctx.deps.photos.list(group)]);
  const { same, different, closest } = distributionsOf(
    people.map((p) => ctx.comparableSamples(p)),
    records.map((r) => ({ ...r, faces: r.faces.filter((f) => ctx.comparable(f)) })),
  );
  const plot = await ctx.deps.renderer.similarityPlot({
    same,
    different,
    closest,
    threshold: current.threshold,
    ...(proposed === undefined ? {} : { proposed }),
    title: 'Similarity of faces of the same person and of different people',
  });
  const report: ThresholdReport = { threshold: current.threshold, plot, samePairs: same.length, differentPairs: different.length };
  if (proposed === undefined) return report;
  const changes = planRefile(records, people, { threshold: proposed, margin: ctx.deps.defaults.margin, embedder: ctx.embedder });
  return { ...report, proposed: { threshold: proposed, ...countChanges(changes) } };
}

/**
 * The labelled groups from the people's samples alone, and each stored face's best match as the
 * matcher scores it. A face named at the threshold is above it by construction: counting named
 * faces as "same person" would hide every near miss and show a clean gap that is not there.
 */
function distributionsOf(people: readonly Person[], records: readonly PhotoRecord[]): { same: number[]; different: number[]; closest: number[] } {
  const gallery = people.map((p) => ({ id: p.id, name: p.name, samples: p.samples.map((s) => s.embedding) }));
  const labelled = similarityDistributions(gallery, []);
  const closest = records.flatMap((r) =>
    r.faces.flatMap((f) =>
      f.embedding
        ? scorePeople(f.embedding, gallery)
            .slice(0, 1)
            .map((best) => best.similarity)
        : [],
    ),
  );
  return { ...labelled, closest };
}
