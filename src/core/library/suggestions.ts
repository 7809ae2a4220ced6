import { scorePeople } from '../matcher.ts';
import type { GroupId } from '../group-id.ts';
import type { Person } from '../records.ts';
import { findPerson, refOf, type LibraryContext } from './context.ts';
import { toGalleryPerson } from './filing.ts';
import type { Actor, DismissResult, SourceFilter, Suggestion } from './results.ts';

/**
 * How far below the threshold a face may fall and still be offered as "Is this Anna?": digiKam's
 * unconfirmed faces. Tried on natural photos, most of the appearances a threshold missed had the
 * right person as their best match within a few hundredths of it.
 */
export const SUGGEST_BELOW = 0.04;
/** At most this many are offered at once: a member confirms a screenful, then looks again. */
const MAX_SUGGESTIONS = 60;

/**
 * Faces nobody was recognised in whose best match is `personId`, a little below the threshold (or
 * above it but too close to someone else to decide): offered to be confirmed, best first. A photo
 * already in their album, or taken out of it ("not this person", a "no" here), is never offered;
 * with `canSee`, only photos the asker may see. One scan of the group's embeddings for the
 * person's samples, then the records of the few faces it finds.
 */
export async function suggestions(ctx: LibraryContext, group: GroupId, personId: string, canSee?: SourceFilter): Promise<Suggestion[]> {
  const people = await ctx.deps.gallery.list(group);
  const person = people.find((p) => p.id === personId);
  const own = person && toGalleryPerson(person, ctx.embedder).samples;
  if (!person || !own || own.length === 0) return [];
  const { threshold } = await ctx.settingsOf(group);
  const rejected = new Set(person.rejected);
  const near = (await ctx.deps.photos.near(group, own, threshold - SUGGEST_BELOW, ctx.embedder)).filter(
    (f) => f.personId === undefined && !rejected.has(f.photoHash),
  );
  const records = new Map((await ctx.deps.photos.getMany(group, [...new Set(near.map((f) => f.photoHash))])).map((r) => [r.hash, r]));
  const gallery = people.map((p) => toGalleryPerson(p, ctx.embedder));
  const found: Suggestion[] = [];
  for (const { photoHash, faceIndex } of near) {
    const record = records.get(photoHash);
    const face = record?.faces[faceIndex];
    if (!record || !face?.embedding || face.embedder !== ctx.embedder || face.personId !== undefined) continue;
    if (record.faces.some((f) => f.personId === personId)) continue;
    const [best] = scorePeople(face.embedding, gallery);
    if (best?.personId !== personId || best.similarity < threshold - SUGGEST_BELOW) continue;
    if (canSee && record.source !== undefined && !(await canSee(record.source))) continue;
    found.push({ photoHash, faceIndex, similarity: best.similarity, postedAt: record.postedAt });
  }
  return found.sort((a, b) => b.similarity - a.similarity).slice(0, MAX_SUGGESTIONS);
}

/**
 * "No, that is not Anna" to a suggestion: the photo is never filed under her, nor offered again,
 * as "not this person" does; a person linked to a member is theirs and the admins' to change.
 */
export async function dismissSuggestion(ctx: LibraryContext, group: GroupId, name: string, photoHash: string, actor: Actor): Promise<DismissResult> {
  const people = await ctx.deps.gallery.list(group);
  const person: Person | undefined = findPerson(people, name);
  if (!person) return { kind: 'unknown-person' };
  if (person.userId !== undefined && person.userId !== actor.userId && !actor.admin) return { kind: 'not-allowed', person: refOf(person) };
  const record = await ctx.deps.photos.get(group, photoHash);
  if (!record) return { kind: 'unknown-photo' };
  if (!person.rejected.includes(photoHash)) await ctx.deps.gallery.save(group, { ...person, rejected: [...person.rejected, photoHash] });
  return { kind: 'dismissed', person: refOf(person) };
}
