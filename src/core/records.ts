import type { GroupId } from './group-id.ts';
import type { Box, Embedding, UnusableReason } from './faces.ts';

/** One face embedding enrolled for a person. */
export interface Sample {
  readonly embedding: Embedding;
  /**
   * The embedder that computed it (`EngineInfo.embedder`). Only samples of the engine's own
   * embedder are compared; others wait to be re-described from their photo.
   */
  readonly embedder?: string;
  /** The group photo it was taken from, when it came from one. */
  readonly photoHash?: string;
  /** Who enrolled it (platform user id), for the log of who did what. */
  readonly addedBy?: string;
  readonly addedAt: string;
}

/** An enrolled person of one group. */
export interface Person {
  readonly id: string;
  readonly name: string;
  /** The album folder's name: made safe from `name`, unique in the group. */
  readonly folder: string;
  /** The member's platform user id, when they linked themselves ("this is me"). */
  readonly userId?: string;
  readonly samples: readonly Sample[];
  /** Photos someone said are not of this person: never filed under them again. */
  readonly rejected: readonly string[];
  readonly createdAt: string;
}

/** A face as recorded with its photo, so later enrolments and threshold changes can re-file. */
export interface StoredFace {
  readonly box: Box;
  readonly score: number;
  readonly eyeDistance: number;
  /** Absent for unusable faces, and once removed (forgetting, retention of unknown faces). */
  readonly embedding?: Embedding;
  /** The embedder that computed `embedding`; a face of another embedder is not compared, and keeps its name. */
  readonly embedder?: string;
  readonly unusable?: UnusableReason;
  /** The person this face was named as, if any. */
  readonly personId?: string;
  /** When an unknown face's embedding was recorded, for the retention period. */
  readonly seenAt: string;
}

/** A photo of a group: stored once by content hash, filed into the album of each person it shows. */
export interface PhotoRecord {
  readonly hash: string;
  /** The file extension of the stored original, from its real format ("jpg", "png", ...). */
  readonly ext: string;
  readonly bytes: number;
  readonly originalName?: string;
  readonly postedBy?: string;
  readonly postedAt: string;
  /** From EXIF, when the photo says. */
  readonly takenAt?: string;
  /** The platform's ids for the message and file, so an adapter can point back at it. */
  readonly source?: Readonly<Record<string, string>>;
  readonly faces: readonly StoredFace[];
}

export type ReplyMode = 'quiet' | 'summary';

export interface GroupSettings {
  readonly threshold: number;
  readonly replyMode: ReplyMode;
  /** When the bot was removed from the group: its data is erased after the grace period. */
  readonly removedAt?: string;
  /** A move from this old id is under way (a Telegram supergroup upgrade): finished at start if cut short. */
  readonly movingFrom?: GroupId;
  /** Work begun and not yet finished, written before it starts: a restart finishes it. */
  readonly pending?: PendingWork;
  /**
   * When someone was last forgotten here (ISO): a photo posted shortly before and filed after it
   * (still queued, or retried) keeps no embedding of a face it cannot name, which may be theirs.
   */
  readonly forgottenAt?: string;
}

/**
 * How far a forget reaches. `everything` (an admin's): the person's faces, unknown faces that look
 * like them (a wide net: it may catch a stranger's), and the photos no other album holds. A member
 * forgetting themselves (`self`) reaches only what is theirs: their samples, named faces, album and
 * link; the photos stay, as the group's. `self-and-posts` also deletes the photos they posted.
 */
export type ForgetScope = 'everything' | 'self' | 'self-and-posts';

/** What a multi-step change left to do if the process died in the middle of it. */
export interface PendingWork {
  /** Re-decide every photo: the threshold or someone's samples changed. */
  readonly refile?: boolean;
  /** Forget this person (by id); their record is deleted last, so it is still there to finish with. */
  readonly forget?: string;
  /** How far that forget reaches; a note without it (from an earlier release) is finished as `self`, the narrowest. */
  readonly forgetScope?: ForgetScope;
}

/** One cluster of unknown faces that keep appearing. */
export interface UnknownCluster {
  /** Small and stable until the next clustering: what `/name <id> <name>` refers to. */
  readonly id: number;
  readonly faces: readonly { readonly photoHash: string; readonly faceIndex: number }[];
}
