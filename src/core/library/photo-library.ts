import type { AuditEntry, FaceRef, RepairReport } from '../ports.ts';
import { audit, describe } from './audit.ts';
import type { ReplyMode } from '../records.ts';
import type { GroupId } from '../group-id.ts';
import * as albums from './albums.ts';
import * as browsing from './browse.ts';
import * as unknownFaces from './unknown-faces.ts';
import * as suggesting from './suggestions.ts';
import { checkConsistency } from './consistency.ts';
import { LibraryContext, type LibraryDependencies } from './context.ts';
import { enroll } from './enrollment.ts';
import { expireUnknownFaces, forget } from './forgetting.ts';
import { analysePhoto, fileAnalysed } from './ingest.ts';
import * as lifecycle from './lifecycle.ts';
import * as pending from './pending.ts';
import { resumeInterrupted } from './resume.ts';
import { redescribe, type RedescribeOptions, type RedescribeReport } from './redescribe.ts';
import * as threshold from './threshold.ts';
import type {
  Actor,
  AlbumDownload,
  AlbumRequest,
  AlbumResult,
  EnrollRequest,
  EnrollResult,
  ForgetResult,
  GroupSettingsView,
  IncomingPhoto,
  IngestResult,
  LibraryStats,
  NameClusterResult,
  NotThisResult,
  PersonSummary,
  SetThresholdResult,
  SourceFilter,
  ThresholdReport,
  UnknownClustersResult,
  UnknownPeople,
  Suggestion,
  DismissResult,
} from './results.ts';

/**
 * Everything a group can do with its photos, on any chat platform: each group (a Telegram chat, a
 * Discord server) is a separate library whose people, photos, albums and settings no other group
 * sees. Mutations of one group run one at a time; different groups proceed in parallel on the
 * shared engine. Expected outcomes are returned as values; only broken infrastructure throws.
 *
 * A facade: each use case lives in its own module (ingest, enrollment, albums, threshold,
 * clusters, forgetting, consistency); this class holds their context and runs each mutation inside
 * its group's lock. Reads (people, settings, thresholdReport, stats) take no lock.
 */
export class PhotoLibrary {
  private readonly ctx: LibraryContext;

  constructor(deps: LibraryDependencies) {
    this.ctx = new LibraryContext(deps);
  }

  /**
   * Files a posted photo into the album of everyone it shows; skips exact duplicates. The faces
   * are found before the group's lock is taken, so a burst in one group uses every core; the
   * match and the filing run inside it, against the gallery as it is then.
   */
  async ingest(group: GroupId, photo: IncomingPhoto): Promise<IngestResult> {
    const analysed = await analysePhoto(this.ctx, group, photo);
    return this.ctx.serial(group, async (held) => (await this.ctx.timeStage('file', () => fileAnalysed(this.ctx, group, photo, analysed, held))).result);
  }

  /**
   * Adds a face sample for a person (creating them), then re-files the group's earlier photos that
   * now show them. A photo with several faces is never guessed from: the answer is a numbered
   * contact sheet, and the caller asks again with `face`.
   */
  enroll(group: GroupId, request: EnrollRequest): Promise<EnrollResult> {
    const actor = {
      ...(request.by !== undefined ? { userId: request.by } : {}),
      ...(request.byName !== undefined ? { name: request.byName } : {}),
      admin: request.byAdmin ?? false,
    };
    return this.audited(group, actor, 'enroll', () => pending.refiling(this.ctx, group, () => enroll(this.ctx, group, request)), describe.enroll);
  }

  /**
   * A person's album as zip parts, each under `maxPartBytes`; or, without a limit, its photo list.
   * With a request, the photos showing several people, or posted in a period (see `AlbumRequest`).
   * The lock is held for the snapshot only; the parts are built as they are sent, and the caller
   * must `dispose` the export in every case (it also frees the export's place).
   */
  album(group: GroupId, request: string | AlbumRequest, maxPartBytes?: number, canSee?: SourceFilter): Promise<AlbumResult> {
    return albums.album(this.ctx, group, typeof request === 'string' ? { people: [request] } : request, maxPartBytes, canSee);
  }

  /** The album asked for as one zip streamed to a download, as the asker may see it. */
  albumDownload(group: GroupId, request: AlbumRequest, canSee?: SourceFilter): Promise<AlbumDownload> {
    return albums.albumDownload(this.ctx, group, request, canSee);
  }

  /** Who is enrolled, with their sample and photo counts, by name; with `canSee`, as the asker may see them. */
  people(group: GroupId, canSee?: SourceFilter): Promise<PersonSummary[]> {
    return albums.people(this.ctx, group, canSee);
  }

  /** A gallery page: the photos showing every one of `query.people`, newest first; with `canSee`, as the asker may see them. */
  browse(group: GroupId, query: browsing.BrowseQuery, page: { offset: number; limit: number }, canSee?: SourceFilter): Promise<browsing.BrowsePage> {
    return browsing.browse(this.ctx, group, query, page, canSee);
  }

  /** One photo with its named faces, if the asker may see it. */
  browsePhoto(group: GroupId, hash: string, canSee?: SourceFilter): Promise<browsing.BrowsedPhotoDetail | undefined> {
    return browsing.browsePhoto(this.ctx, group, hash, canSee);
  }

  /** A preview of a photo (made once by `make`, then kept), if the asker may see it. */
  browsePreview(group: GroupId, hash: string, key: string, make: browsing.PreviewMaker, canSee?: SourceFilter): Promise<Uint8Array | undefined> {
    return browsing.browsePreview(this.ctx, group, hash, key, make, canSee);
  }

  /** An opened photo: its named faces and its original, from one read, if the asker may see it. */
  browseOpened(group: GroupId, hash: string, canSee?: SourceFilter): Promise<{ photo: browsing.BrowsedPhotoDetail; original: Buffer } | undefined> {
    return browsing.browseOpened(this.ctx, group, hash, canSee);
  }

  /** Each person's cover: the newest photo of their album the asker may see, by person id. */
  covers(group: GroupId, people: readonly string[], canSee?: SourceFilter): Promise<Map<string, string>> {
    return browsing.covers(this.ctx, group, people, canSee);
  }

  /** A photo's stored original, if the asker may see it. */
  browseOriginal(group: GroupId, hash: string, canSee?: SourceFilter): Promise<{ bytes: Buffer; ext: string } | undefined> {
    return browsing.browseOriginal(this.ctx, group, hash, canSee);
  }

  settings(group: GroupId): Promise<GroupSettingsView> {
    return threshold.settings(this.ctx, group);
  }

  setReplyMode(group: GroupId, replyMode: ReplyMode, actor?: Actor): Promise<GroupSettingsView> {
    return this.audited(
      group,
      actor,
      'settings',
      () => threshold.setReplyMode(this.ctx, group, replyMode),
      () => `set replies to photos to ${replyMode}`,
    );
  }

  /** Sets the group's threshold and re-files every photo so the albums agree with it. */
  setThreshold(group: GroupId, value: number, actor?: Actor): Promise<SetThresholdResult> {
    return this.audited(group, actor, 'threshold', () => threshold.setThreshold(this.ctx, group, value), describe.threshold);
  }

  /**
   * For admins: a plot of same-person against different-person similarities among the group's
   * samples and recognised faces, with the threshold marked; with `proposed`, how many photos a
   * change to it would move.
   */
  thresholdReport(group: GroupId, proposed?: number): Promise<ThresholdReport> {
    return threshold.thresholdReport(this.ctx, group, proposed);
  }

  /**
   * Clusters the faces nobody was recognised in, keeps the ones that keep appearing, and shows them;
   * with `canSee`, of the photos the asker may see only.
   */
  unknownClusters(group: GroupId, canSee?: SourceFilter): Promise<UnknownClustersResult> {
    // Takes the group's lock itself, after clustering: only to save and draw what it found.
    return unknownFaces.unknownClusters(this.ctx, group, canSee);
  }

  /** The faces that keep appearing, for a page that draws them itself (the gallery); clusters anew, as `unknownClusters`. */
  unknownPeople(group: GroupId, canSee?: SourceFilter): Promise<UnknownPeople> {
    return unknownFaces.unknownPeople(this.ctx, group, canSee);
  }

  /**
   * Enrolls a cluster of unknown faces under a name (new or existing person) and files its photos.
   * `expected`: the face the asker was shown for it; the cluster must still hold it.
   */
  nameCluster(group: GroupId, clusterId: number, rawName: string, actor?: Actor, expected?: FaceRef): Promise<NameClusterResult> {
    return this.audited(
      group,
      actor,
      'name',
      () => pending.refiling(this.ctx, group, () => unknownFaces.nameCluster(this.ctx, group, clusterId, rawName, actor, expected)),
      describe.name,
    );
  }

  /** Faces offered as "Is this Anna?": their best match is her, a little below the threshold. */
  suggestions(group: GroupId, personId: string, canSee?: SourceFilter): Promise<Suggestion[]> {
    return suggesting.suggestions(this.ctx, group, personId, canSee);
  }

  /** "No" to a suggestion: that photo is never filed under the person, nor offered again. */
  dismissSuggestion(group: GroupId, name: string, photoHash: string, actor: Actor): Promise<DismissResult> {
    return this.audited(group, actor, 'not-this', () => suggesting.dismissSuggestion(this.ctx, group, name, photoHash, actor), describe.dismiss);
  }

  /** "This is not Anna": takes the photo out of her album for good, and re-files it. */
  notThis(group: GroupId, name: string, photo: { hash: string } | IncomingPhoto, actor?: Actor): Promise<NotThisResult> {
    return this.audited(
      group,
      actor,
      'not-this',
      () => pending.refiling(this.ctx, group, () => albums.notThis(this.ctx, group, name, photo, actor)),
      describe.notThis,
    );
  }

  /**
   * Forgets a person: their samples, the link to their account, their album and every face
   * embedding of theirs. By name (an admin's), also unknown faces close to their samples and the
   * photos no one else's album holds. A member forgetting themselves (`userId`) keeps the group's
   * photos: only those they posted go, and only when `photos` asks for it. The store is compacted
   * afterwards (on SQLite the bytes are then gone from disk; README, "What the bot stores").
   */
  forget(group: GroupId, who: { name: string } | { userId: string }, actor?: Actor, options: { readonly photos?: boolean } = {}): Promise<ForgetResult> {
    const self = 'userId' in who;
    const scope = self ? (options.photos ? 'self-and-posts' : 'self') : 'everything';
    return this.audited(
      group,
      actor ?? (self ? { userId: who.userId, admin: false } : undefined),
      'forget',
      () => forget(this.ctx, group, who, scope),
      (result) => describe.forget(result, self),
    );
  }

  /**
   * A group's library now lives under another id (Telegram's supergroup upgrade): everything
   * moves, merged with what the new id has.
   */
  moveGroup(from: GroupId, to: GroupId): Promise<void> {
    return this.ctx.serial(from, () => this.ctx.serial(to, () => lifecycle.moveGroup(this.ctx, from, to)));
  }

  /** The bot was removed from the group: its data is erased after the grace period unless it is back by then. */
  markRemoved(group: GroupId): Promise<void> {
    return this.ctx.serial(group, () => lifecycle.markRemoved(this.ctx, group));
  }

  /** The bot is in the group (again): nothing of it is to be erased. */
  markPresent(group: GroupId): Promise<void> {
    return this.ctx.serial(group, () => lifecycle.markPresent(this.ctx, group));
  }

  /** The groups that have a library (files on disk). */
  groups(): Promise<GroupId[]> {
    return this.ctx.deps.albums.groups();
  }

  /** Erases every group the bot left more than `graceDays` ago, files and records alike; returns them. */
  eraseLeftGroups(graceDays: number): Promise<GroupId[]> {
    return lifecycle.eraseLeftGroups(this.ctx, graceDays);
  }

  /** The group's audit log, newest first: who enrolled, named, took out, forgot or changed what. */
  async auditLog(group: GroupId, limit = 30): Promise<AuditEntry[]> {
    return (await this.ctx.deps.audit?.list(group, limit)) ?? [];
  }

  /** Erases the embeddings of unknown faces older than the retention period; returns how many. */
  expireUnknownFaces(): Promise<number> {
    // Spans every group: the use case takes each group's lock in turn.
    return expireUnknownFaces(this.ctx);
  }

  /**
   * After a change of embedder (the engine's differs from what made stored embeddings): computes
   * every stored sample and face anew from the originals, keeping every name; meanwhile nothing is
   * compared across embedders. Meant to run in the background from start-up: it takes each group's
   * lock for a few photos at a time, resumes where a stopped run left off, and with nothing to do
   * costs a query per group. Samples that cannot be re-described are removed and reported.
   */
  redescribe(options?: RedescribeOptions): Promise<RedescribeReport> {
    return redescribe(this.ctx, options);
  }

  stats(group: GroupId): Promise<LibraryStats> {
    return albums.stats(this.ctx, group);
  }

  /**
   * Brings every group's files in line with its records after an interrupted run (see
   * `AlbumStore.repair`); records whose original is gone are dropped and reported.
   */
  async checkConsistency(): Promise<Map<GroupId, RepairReport>> {
    // What was cut short first: until it is finished, records and files disagree on purpose.
    await resumeInterrupted(this.ctx);
    // Zips an album export left behind when the process died while sending them.
    await this.ctx.deps.albums.clearExports();
    // Spans every group: the use case takes each group's lock in turn.
    return checkConsistency(this.ctx);
  }

  /** Runs a change inside the group's lock, then records it in the audit log if it changed anything. */
  private audited<R>(
    group: GroupId,
    actor: Actor | undefined,
    action: AuditEntry['action'],
    change: () => Promise<R>,
    detail: (result: R) => string | undefined,
  ): Promise<R> {
    return this.ctx.serial(group, async () => {
      const result = await change();
      await audit(this.ctx, group, actor, action, detail(result));
      return result;
    });
  }
}
