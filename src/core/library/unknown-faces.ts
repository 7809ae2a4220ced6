import type { Box } from '../faces.ts';
import type { FaceRef } from '../ports.ts';
import type { PhotoRecord, Sample, UnknownCluster } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import { refOf, type LibraryContext } from './context.ts';
import { inProcessClusterer } from '../linkage.ts';
import { addSamples } from './enrollment.ts';
import { cleanPersonName } from './names.ts';
import { filedUnder, refileNear } from './refile.ts';
import type { Actor, NameClusterResult, SourceFilter, UnknownClustersResult, UnknownPeople } from './results.ts';
import { photoVisibility } from './visibility.ts';

/** At most this many of a cluster's faces become samples when it is named. */
const SAMPLES_PER_NAMED_CLUSTER = 5;
/** At most this many clusters are shown on the contact sheet. */
const SHEET_CLUSTERS = 30;

type FoundCluster = UnknownCluster & { readonly photos: number };

/**
 * Clusters the faces nobody was recognised in and keeps the ones that keep appearing; `then` runs
 * inside the group's lock with them, once they are saved (their ids are what naming refers to).
 * With `canSee`, only faces from photos the asker may see take part.
 *
 * The clustering (seconds at 20k faces) runs outside the group's lock, on the faces as they were
 * read, so that the group's photos are filed meanwhile; only the result is saved and used inside
 * it.
 */
async function clustersOf<T>(
  ctx: LibraryContext,
  group: GroupId,
  canSee: SourceFilter | undefined,
  then: (clusters: FoundCluster[]) => Promise<T>,
): Promise<T> {
  const { threshold } = await ctx.settingsOf(group);
  let faces = await ctx.deps.photos.unknownFaces(group, ctx.embedder);
  if (canSee) {
    const visible = await photoVisibility(ctx, group, canSee)(faces.map((face) => face.photoHash));
    faces = faces.filter((face) => visible.has(face.photoHash));
  }
  const inputs = faces
    .sort((a, b) => b.seenAt.localeCompare(a.seenAt))
    .map((face) => ({ key: { photoHash: face.photoHash, faceIndex: face.faceIndex }, photo: face.photoHash, embedding: face.embedding }));
  const found = await (ctx.deps.clusterer ?? inProcessClusterer).cluster(inputs, threshold, ctx.deps.defaults.minClusterPhotos);
  return ctx.serial(group, async () => {
    const clusters = found.map((c, i) => ({ id: i + 1, faces: c.central.map((m) => m.key), photos: new Set(c.members.map((m) => m.photo)).size }));
    await ctx.deps.settings.saveClusters(
      group,
      clusters.map(({ id, faces }) => ({ id, faces })),
    );
    return then(clusters);
  });
}

/**
 * The faces that keep appearing, as a contact sheet: one face of each cluster, labelled with its
 * id, for `/name <id> <name>`. Only the photos the sheet shows are read; a cluster whose faces were
 * all named, forgotten or expired since they were read is not shown.
 */
export async function unknownClusters(ctx: LibraryContext, group: GroupId, canSee?: SourceFilter): Promise<UnknownClustersResult> {
  const minPhotos = ctx.deps.defaults.minClusterPhotos;
  return clustersOf(ctx, group, canSee, async (clusters) => {
    if (clusters.length === 0) return { clusters, minPhotos };
    const records = new Map<string, PhotoRecord | undefined>();
    const tiles = [];
    for (const cluster of clusters.slice(0, SHEET_CLUSTERS)) {
      const first = await firstStillUnknown(ctx, group, cluster, records);
      if (!first) continue;
      const image = await ctx.decodeStored(group, first.record);
      if (image) tiles.push({ image, box: first.box, label: String(cluster.id) });
    }
    const sheet = tiles.length > 0 ? await ctx.deps.renderer.contactSheet(tiles, 'Faces that keep appearing: name one with its number') : undefined;
    return { clusters, minPhotos, ...(sheet ? { sheet } : {}) };
  });
}

/**
 * The faces that keep appearing, for a page that shows them itself (the gallery's): each cluster
 * with the face that stands for it (its first still unknown) and the photos of its faces, newest
 * first. Nothing is drawn here.
 */
export async function unknownPeople(ctx: LibraryContext, group: GroupId, canSee?: SourceFilter): Promise<UnknownPeople> {
  const minPhotos = ctx.deps.defaults.minClusterPhotos;
  return clustersOf(ctx, group, canSee, async (clusters) => {
    const records = new Map<string, PhotoRecord | undefined>();
    const shown = [];
    for (const cluster of clusters) {
      const first = await firstStillUnknown(ctx, group, cluster, records);
      if (!first) continue;
      const onePerPhoto = new Map(cluster.faces.map((f) => [f.photoHash, f]));
      shown.push({ id: cluster.id, photos: cluster.photos, face: first.face, faces: [...onePerPhoto.values()] });
    }
    return { clusters: shown, minPhotos };
  });
}

/** A cluster's first face that is still nobody's and comparable, with its record: what stands for the cluster. */
async function firstStillUnknown(
  ctx: LibraryContext,
  group: GroupId,
  cluster: UnknownCluster,
  records: Map<string, PhotoRecord | undefined>,
): Promise<{ record: PhotoRecord; face: FaceRef; box: Box } | undefined> {
  for (const { photoHash, faceIndex } of cluster.faces) {
    if (!records.has(photoHash)) records.set(photoHash, await ctx.deps.photos.get(group, photoHash));
    const record = records.get(photoHash);
    const face = record?.faces[faceIndex];
    if (record && face && face.personId === undefined && ctx.comparable(face)) return { record, face: { photoHash, faceIndex }, box: face.box };
  }
  return undefined;
}

/** Enrolls a cluster of unknown faces under a name (new or existing person) and files its photos. */
export async function nameCluster(
  ctx: LibraryContext,
  group: GroupId,
  clusterId: number,
  rawName: string,
  actor: Actor = { admin: false },
  expected?: FaceRef,
): Promise<NameClusterResult> {
  const clean = cleanPersonName(rawName);
  if (!clean.ok) return { kind: 'invalid-name', reason: clean.reason };
  const clusters = (await ctx.deps.settings.getClusters(group)) ?? [];
  const cluster = clusters.find((c) => c.id === clusterId);
  // A page that showed the cluster names the face it showed: if a clustering since gave the id to
  // other faces, the id is not what the asker saw.
  const holds = !expected || cluster?.faces.some((f) => f.photoHash === expected.photoHash && f.faceIndex === expected.faceIndex);
  if (!cluster || !holds) return { kind: 'unknown-cluster', clusters: clusters.map((c) => c.id) };
  const samples: Sample[] = [];
  for (const { photoHash, faceIndex } of cluster.faces) {
    const face = (await ctx.deps.photos.get(group, photoHash))?.faces[faceIndex];
    // A face named since the clustering is someone's already: not a sample of this cluster.
    if (face?.embedding && face.personId === undefined && ctx.comparable(face)) samples.push(ctx.sample(face.embedding, photoHash, actor.userId));
    if (samples.length >= SAMPLES_PER_NAMED_CLUSTER) break;
  }
  const added = await addSamples(ctx, group, clean.name, samples, { actor });
  if (added.kind === 'not-allowed' || added.kind === 'confusable-name') return added;
  if (added.kind !== 'added') throw new Error('a cluster never links a user');
  const { person, isNew } = added;
  // Only the photos the new samples could move.
  const changes = await refileNear(ctx, group, samples);
  // The clusters' face references are only valid until the next clustering.
  await ctx.deps.settings.saveClusters(group, []);
  return { kind: 'named', person: refOf(person), newPerson: isNew, filed: filedUnder(changes, person.id) };
}
