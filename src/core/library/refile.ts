import type { Embedding } from '../faces.ts';
import type { Person, PhotoRecord, Sample } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import type { MatchPolicy } from '../matcher.ts';
import { photoRef, type LibraryContext } from './context.ts';
import { assignFaces, peopleOf, prepareGallery, withPerson, type MatchRules, type PreparedGallery } from './filing.ts';
import { SINGLE_PRECISION_SLACK, type SimilarityKernel } from '../face-matrix.ts';

// Re-filing: after a change to the gallery or the threshold, the stored faces that the change can
// reach are decided again (filing.ts decides them) and the album links that change are moved.

/**
 * Records written per transaction by a re-file: a threshold change at 100k photos moves about
 * 2,000, which is one transaction and one sync to disk (four at 500 a batch cost 0.1 s more).
 */
const REFILE_BATCH = 5000;

export interface RefileChange {
  readonly before: PhotoRecord;
  readonly after: PhotoRecord;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** What re-matching every stored face would change, photo by photo (nothing is written). */
export function planRefile(
  records: readonly PhotoRecord[],
  people: readonly Person[],
  rules: MatchRules,
  /** Per photo, the only people who can name one of its faces (`candidates`); everyone otherwise. */
  galleries?: ReadonlyMap<string, PreparedGallery>,
): RefileChange[] {
  const changes: RefileChange[] = [];
  const prepared = prepareGallery(people, rules.embedder);
  for (const record of records) {
    const assigned = assignFaces(record.faces, people, record.hash, rules, galleries?.get(record.hash) ?? prepared);
    if (assigned.every((id, i) => id === record.faces[i]!.personId)) continue;
    const after: PhotoRecord = {
      ...record,
      faces: record.faces.map((face, i) => withPerson(face, assigned[i])),
    };
    const was = peopleOf(record),
      now = peopleOf(after);
    changes.push({ before: record, after, added: now.filter((id) => !was.includes(id)), removed: was.filter((id) => !now.includes(id)) });
  }
  return changes;
}

/**
 * Re-matches the stored faces of the photos in `scope` (every photo of the group when absent) and
 * moves the album links that change; returns the changes.
 */
export async function refileGroup(ctx: LibraryContext, group: GroupId, policy?: MatchPolicy, scope?: readonly string[]): Promise<RefileChange[]> {
  const { gallery, photos, albums } = ctx.deps;
  const effective = { ...(policy ?? (await policyOf(ctx, group))), embedder: ctx.embedder };
  const [people, records] = await Promise.all([gallery.list(group), scope ? photos.getMany(group, scope) : photos.list(group)]);
  const changes = planRefile(records, people, effective, ctx.deps.kernel && (await candidates(ctx.deps.kernel, records, people, effective)));
  const folderOf = (id: string) => people.find((p) => p.id === id)?.folder;
  // Linked before the records say so, unlinked after: a crash in between leaves extra links that
  // the consistency check removes, never a record pointing at a missing file. The names of a
  // batch's faces are written as one change (one sync to disk, not one per photo).
  for (let i = 0; i < changes.length; i += REFILE_BATCH) {
    const batch = changes.slice(i, i + REFILE_BATCH);
    for (const change of batch) for (const id of change.added) await albums.link(group, folderOf(id)!, photoRef(change.after));
    // Only the faces whose name changed are written.
    await photos.assign(
      group,
      batch.flatMap((c) =>
        c.after.faces.flatMap((face, faceIndex) =>
          face.personId === c.before.faces[faceIndex]!.personId
            ? []
            : [{ photoHash: c.after.hash, faceIndex, ...(face.personId !== undefined ? { personId: face.personId } : {}) }],
        ),
      ),
    );
    for (const change of batch) {
      for (const id of change.removed) {
        const folder = folderOf(id);
        if (folder) await albums.unlink(group, folder, photoRef(change.after));
      }
    }
  }
  if (changes.length > 0) ctx.log.info({ group, changed: changes.length, threshold: effective.threshold }, 'photos re-filed');
  return changes;
}

/** Faces compared with the samples per matrix product: a few megabytes of rows. */
const FACES_PER_PRODUCT = 16_384;

/**
 * For each photo, the people who can name one of its faces: those with a sample the kernel's
 * single-precision product puts at or above the threshold (less the product's rounding) for one of
 * them. Only a person at or above the threshold can be named, or make a face ambiguous, so deciding
 * the photo against these alone gives what deciding it against everyone gives, and the exact
 * scores (in JavaScript) are then computed for a person or two instead of the whole gallery.
 * Undefined when the embeddings are not all of one length (the full comparison then says why).
 */
async function candidates(
  kernel: SimilarityKernel,
  records: readonly PhotoRecord[],
  people: readonly Person[],
  rules: MatchRules,
): Promise<Map<string, PreparedGallery> | undefined> {
  const prepared = prepareGallery(people, rules.embedder);
  const owners: number[] = [];
  const samples = prepared.gallery.flatMap((person, i) => person.samples.map((sample) => (owners.push(i), sample)));
  const d = samples[0]?.length;
  if (d === undefined || samples.some((sample) => sample.length !== d)) return undefined;
  const faces: { record: number; embedding: Float32Array }[] = [];
  for (const [r, record] of records.entries())
    for (const face of record.faces) {
      if (!face.embedding || face.embedder !== rules.embedder) continue;
      if (face.embedding.length !== d) return undefined;
      faces.push({ record: r, embedding: face.embedding });
    }
  const probes = new Float32Array(samples.length * d);
  samples.forEach((sample, j) => probes.set(sample, j * d));
  const reached = records.map(() => new Set<number>());
  const rows = new Float32Array(Math.min(faces.length, FACES_PER_PRODUCT) * d);
  const min = rules.threshold - SINGLE_PRECISION_SLACK;
  for (let start = 0; start < faces.length; start += FACES_PER_PRODUCT) {
    const slice = faces.slice(start, start + FACES_PER_PRODUCT);
    slice.forEach((face, i) => rows.set(face.embedding, i * d));
    const scores = await kernel.similarities(rows.subarray(0, slice.length * d), probes, d);
    slice.forEach((face, i) => {
      for (let j = 0; j < samples.length; j++) if (scores[i * samples.length + j]! >= min) reached[face.record]!.add(owners[j]!);
    });
  }
  return new Map(
    records.map((record, r) => {
      const chosen = [...reached[r]!].sort((a, b) => a - b);
      return [
        record.hash,
        { people: chosen.map((i) => prepared.people[i]!), gallery: chosen.map((i) => prepared.gallery[i]!), anyRejected: prepared.anyRejected },
      ];
    }),
  );
}

/** How many photos changed, and how many album entries were added and removed. */
export function countChanges(changes: readonly RefileChange[]): { photosChanged: number; filed: number; unfiled: number } {
  return {
    photosChanged: changes.length,
    filed: changes.reduce((n, c) => n + c.added.length, 0),
    unfiled: changes.reduce((n, c) => n + c.removed.length, 0),
  };
}

/** How many photos the changes filed under `personId` that were not filed under them before. */
export function filedUnder(changes: readonly RefileChange[], personId: string): number {
  return changes.filter((c) => c.added.includes(personId)).length;
}

async function policyOf(ctx: LibraryContext, group: GroupId): Promise<MatchPolicy> {
  return { threshold: (await ctx.settingsOf(group)).threshold, margin: ctx.deps.defaults.margin };
}

/**
 * The photos whose decision samples (by the engine's embedder) could change: a face's decision depends on the people whose
 * closest sample reaches the threshold, so adding or removing samples changes it only where one of
 * those samples reaches the threshold. The whole photo is re-decided (one person per photo).
 */
export async function photosNear(ctx: LibraryContext, group: GroupId, samples: readonly Embedding[], threshold: number): Promise<string[]> {
  if (samples.length === 0) return [];
  return [...new Set((await ctx.deps.photos.near(group, samples, threshold, ctx.embedder)).map((f) => f.photoHash))];
}

/**
 * Re-files only the photos that `samples` (just added to or taken from someone) could move: a
 * sample of another embedder decides nothing, so it moves nothing either.
 */
export async function refileNear(ctx: LibraryContext, group: GroupId, samples: readonly Sample[], also: readonly string[] = []): Promise<RefileChange[]> {
  const policy = await policyOf(ctx, group);
  const probes = samples.filter((s) => ctx.comparable(s)).map((s) => s.embedding);
  const scope = [...new Set([...also, ...(await photosNear(ctx, group, probes, policy.threshold))])];
  return scope.length === 0 ? [] : refileGroup(ctx, group, policy, scope);
}

/**
 * The photos a threshold change from `from` to `to` could move: those with a face that some
 * person's closest sample reaches between the two. Below both or above both, the set of people
 * that pass is the same, and so is every decision.
 */
export async function photosBetween(ctx: LibraryContext, group: GroupId, people: readonly Person[], from: number, to: number): Promise<string[]> {
  const owners: number[] = [];
  const probes = people.flatMap((p, owner) => ctx.comparableSamples(p).samples.map((s) => (owners.push(owner), s.embedding)));
  if (probes.length === 0 || from === to) return [];
  return ctx.deps.photos.between(group, probes, owners, { from: Math.min(from, to), below: Math.max(from, to) }, ctx.embedder);
}
