import type { DecodeFailureReason, AlbumEntry, AlbumExport, FaceRef } from '../ports.ts';
import type { ForgetScope, ReplyMode, UnknownCluster } from '../records.ts';
import type { UnusableReason } from '../faces.ts';
import type { NameRefusal } from './names.ts';
import type { SampleAdvice } from '../sample-advice.ts';
import type { ImportStatus } from '../import-status.ts';

/** A person as answers name them. */
export interface PersonRef {
  readonly id: string;
  readonly name: string;
}

/** A photo posted to a group, as an adapter hands it over. */
export interface IncomingPhoto {
  readonly bytes: Uint8Array;
  /** The poster's platform user id. */
  readonly postedBy?: string;
  readonly postedAt?: Date;
  /**
   * When a queue accepted it, for a photo that waited in one. A photo queued before a forget and
   * filed after it keeps no unnamed face's embedding; a photo a command takes straight from the
   * chat (an enrolment by reference) has none and is never taken for such a straggler.
   */
  readonly queuedAt?: Date;
  readonly originalName?: string;
  /** The platform's ids (message, file, ...), kept with the record. */
  readonly source?: Readonly<Record<string, string>>;
}

/** Why a face went where it went: who it was filed under, and the two closest people with their scores. */
export interface FaceExplanation {
  /** The person it was filed under; absent for an unknown face. */
  readonly person?: PersonRef;
  readonly best?: ScoredPerson;
  readonly runnerUp?: ScoredPerson;
}

export interface ScoredPerson extends PersonRef {
  readonly similarity: number;
}

export type IngestResult =
  | {
      readonly kind: 'filed';
      readonly hash: string;
      readonly people: readonly PersonRef[];
      /** Usable faces nobody was recognised in. */
      readonly unknownFaces: number;
      /** Faces too small or unsure to name. */
      readonly unusableFaces: number;
      /** Each usable face, in the photo's order, with its best and runner-up person; and the threshold they were held to. */
      readonly explained?: { readonly threshold: number; readonly faces: readonly FaceExplanation[] };
    }
  | { readonly kind: 'duplicate'; readonly hash: string; readonly people: readonly PersonRef[] }
  | { readonly kind: 'undecodable'; readonly reason: DecodeFailureReason };

/**
 * Who asks for a change. A person linked to a member (`/enroll me`) is theirs: only they or an
 * admin may add samples to them, take photos out of their album, or name faces after them.
 */
export interface Actor {
  readonly userId?: string;
  readonly admin: boolean;
  /** Their display name, for the audit log only. */
  readonly name?: string;
}

export interface EnrollRequest {
  readonly name: string;
  /** New bytes (they are ingested first, like any posted photo) or a photo the group has. */
  readonly photo: IncomingPhoto | { readonly hash: string };
  /**
   * 1-based, left to right, among the photo's usable faces; needed when it has several. `likely`
   * takes the face a person would pick (`likelyFace`) and asks only when there is none. `index`:
   * the face's own place in the photo's record (a page that drew the faces names it so).
   */
  readonly face?: number | 'likely' | { readonly index: number };
  /**
   * With `likely`: other photos of the same person (hashes the group has), for a person with no
   * samples yet. The face that alone agrees with a face of theirs is the person's: a folder of
   * photos each showing two faces alike in size settles who they are by what the photos share.
   */
  readonly alongside?: readonly string[];
  /**
   * "This is me": the sample goes to the person linked to this platform user, created under `name`
   * when there is none yet. Never attaches the user to someone already enrolled.
   */
  readonly userId?: string;
  /** Who enrolled, for the record and for the rules about linked people. */
  readonly by?: string;
  /** Whether `by` is an admin of the group: admins may add samples to anyone. */
  readonly byAdmin?: boolean;
  /** `by`'s display name, for the audit log only. */
  readonly byName?: string;
}

export type EnrollResult =
  | {
      readonly kind: 'enrolled';
      readonly person: PersonRef;
      readonly newPerson: boolean;
      readonly samples: number;
      /** What a better photo would change; the sample was taken all the same. */
      readonly advice: readonly SampleAdvice[];
      /** Earlier photos of the group filed under this person by this enrolment. */
      readonly refiled: number;
    }
  | {
      readonly kind: 'choose-face';
      readonly hash: string;
      readonly faces: number;
      readonly sheet: Uint8Array;
      /** The number of the face a person would pick, when one stands out: offered first. */
      readonly likely?: number;
    }
  /** The person has a sample from this photo already: nothing changes (enrolling twice from one folder, say). */
  | { readonly kind: 'already-a-sample'; readonly person: PersonRef; readonly samples: number }
  /** `/enroll me` under a name someone else already has: never attached to them. */
  | { readonly kind: 'name-taken'; readonly person: PersonRef }
  /** The person is linked to another member, and the caller is not an admin. */
  | { readonly kind: 'not-allowed'; readonly person: PersonRef }
  /** A new name that looks like an existing person's ("Anna" with a hidden character, a Cyrillic "А"). */
  | { readonly kind: 'confusable-name'; readonly person: PersonRef }
  /** The face is (or would be taken for) another person: only an admin or that person may add it. */
  | { readonly kind: 'someone-else'; readonly person: PersonRef }
  | { readonly kind: 'no-usable-face'; readonly reason: 'no-face' | UnusableReason }
  | { readonly kind: 'no-such-face'; readonly faces: number }
  | { readonly kind: 'undecodable'; readonly reason: DecodeFailureReason }
  | { readonly kind: 'unknown-photo' }
  | { readonly kind: 'invalid-name'; readonly reason: NameRefusal };

/** Whether the asker may see photos posted at a source (the platform ids kept with each photo). */
export type SourceFilter = (source: Readonly<Record<string, string>>) => Promise<boolean>;

/**
 * The album asked for: the photos that show every one of `people` (names, the first of them whose
 * album it is), posted within the period when one is given. A bare name is one person, any time.
 */
export interface AlbumRequest {
  readonly people: readonly string[];
  /** `people` are person ids (the gallery's), not names. */
  readonly byId?: boolean;
  readonly period?: AlbumPeriod;
}

/** When the photos were posted: `from` inclusive, `to` exclusive (ISO instants, UTC), either open. */
export interface AlbumPeriod {
  readonly from?: string;
  readonly to?: string;
  /** How the asker wrote it ("2024", "2023-05..2024"): for the zip's name and the answers. */
  readonly label: string;
}

/**
 * `person` is the first person asked for, `people` all of them, and `title` says what was asked
 * ("Anna + Ben, 2024"): the zips' name. `hidden`: photos left out because the asker cannot see
 * where they were posted.
 */
interface AlbumOf {
  readonly person: PersonRef;
  readonly people: readonly PersonRef[];
  readonly title: string;
}

export type AlbumResult =
  | (AlbumOf & { readonly kind: 'album'; readonly export: AlbumExport; readonly hidden?: number })
  | (AlbumOf & { readonly kind: 'album-photos'; readonly entries: readonly AlbumEntry[]; readonly hidden?: number })
  | (AlbumOf & { readonly kind: 'empty'; readonly hidden?: number })
  /** `name`: the name asked for that nobody here has. */
  | { readonly kind: 'unknown-person'; readonly people: readonly string[]; readonly name?: string };

/** An album as one zip for a download: `write` streams it to `out` (once), and ends it. */
export type AlbumDownload =
  | (AlbumOf & {
      readonly kind: 'download';
      readonly photos: number;
      readonly hidden?: number;
      write(out: NodeJS.WritableStream): Promise<void>;
    })
  | Exclude<AlbumResult, { kind: 'album' | 'album-photos' }>;

export interface PersonSummary extends PersonRef {
  readonly samples: number;
  readonly photos: number;
  readonly linkedUser?: string;
}

export type SetThresholdResult =
  | {
      readonly kind: 'set';
      readonly previous: number;
      readonly threshold: number;
      readonly photosChanged: number;
      readonly filed: number;
      readonly unfiled: number;
    }
  | { readonly kind: 'out-of-range'; readonly min: number; readonly max: number };

export interface ThresholdReport {
  readonly threshold: number;
  readonly plot: Uint8Array;
  readonly samePairs: number;
  readonly differentPairs: number;
  /** With a proposed value: how many photos would gain or lose a person. */
  readonly proposed?: { readonly threshold: number; readonly photosChanged: number; readonly filed: number; readonly unfiled: number };
}

export interface UnknownClustersResult {
  readonly clusters: readonly (UnknownCluster & { readonly photos: number })[];
  /** One example face per cluster, labelled with the cluster's id; absent when there are none. */
  readonly sheet?: Uint8Array;
  readonly minPhotos: number;
}

/** The faces that keep appearing, for a page that draws them: see `unknownPeople`. */
export interface UnknownPeople {
  readonly clusters: readonly {
    readonly id: number;
    /** Photos its faces are on, all of them (the clustering's count). */
    readonly photos: number;
    /** The face that stands for it; naming it names this one (see `nameCluster`'s `expected`). */
    readonly face: FaceRef;
    /** Its most typical faces (those naming it takes as samples first), one a photo. */
    readonly faces: readonly FaceRef[];
  }[];
  readonly minPhotos: number;
}

/** A face offered as "Is this Anna?" (see `suggestions`). */
export interface Suggestion {
  readonly photoHash: string;
  readonly faceIndex: number;
  /** Its best match's score, a little below the threshold (or above it, too close to call). */
  readonly similarity: number;
  readonly postedAt: string;
}

export type DismissResult =
  | { readonly kind: 'dismissed'; readonly person: PersonRef }
  | { readonly kind: 'not-allowed'; readonly person: PersonRef }
  | { readonly kind: 'unknown-person' }
  | { readonly kind: 'unknown-photo' };

export type NameClusterResult =
  | { readonly kind: 'named'; readonly person: PersonRef; readonly newPerson: boolean; readonly filed: number }
  | { readonly kind: 'unknown-cluster'; readonly clusters: readonly number[] }
  | { readonly kind: 'not-allowed'; readonly person: PersonRef }
  | { readonly kind: 'confusable-name'; readonly person: PersonRef }
  | { readonly kind: 'invalid-name'; readonly reason: NameRefusal };

export type NotThisResult =
  | { readonly kind: 'removed'; readonly person: PersonRef; readonly nowFiledUnder: readonly PersonRef[] }
  | { readonly kind: 'not-in-album'; readonly person: PersonRef }
  | { readonly kind: 'not-allowed'; readonly person: PersonRef }
  | { readonly kind: 'unknown-person'; readonly people: readonly string[] }
  | { readonly kind: 'unknown-photo' };

export type ForgetResult =
  | {
      readonly kind: 'forgotten';
      readonly person: PersonRef;
      /** How far it reached (forgetting.ts): the reply says what stayed. */
      readonly scope: ForgetScope;
      readonly photosDeleted: number;
      readonly facesErased: number;
      readonly userId?: string;
    }
  | { readonly kind: 'unknown-person'; readonly people: readonly string[] }
  | { readonly kind: 'not-enrolled' };

export interface LibraryStats {
  readonly photos: number;
  readonly faces: number;
  readonly people: number;
  readonly unknownFaces: number;
  readonly unknownClusters: number;
  readonly diskBytes: number;
  /** While faces are re-described for a new recognition model: photos done, of all of them. */
  readonly redescribing?: { readonly done: number; readonly of: number };
  /** People with no face sample the recognition model can use: they must enrol again to be recognised. */
  readonly withoutSamples?: readonly string[];
  /** The group's history imports not yet finished (running, or stopped half way). */
  readonly importing?: readonly ImportStatus[];
}

export interface GroupSettingsView {
  readonly threshold: number;
  readonly replyMode: ReplyMode;
}
