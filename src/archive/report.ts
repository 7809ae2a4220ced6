import type { Box, FaceMatch, PersonScore } from '../core/index.ts';
import type { KnownProblem } from './known-check.ts';
import type { SyncChanges, ZipWritten } from './sync.ts';

// What a run found and did: written by the job, shown by report.html, the summary and the page.

export interface KnownPerson {
  readonly name: string;
  /** Photos used as samples of them; 0 means nobody is looked for under this name. */
  readonly samples: number;
  /** Their photos that are not used, each with the reason (and a contact sheet where it helps). */
  readonly problems: readonly KnownProblem[];
  /** Their photos that are used but that a better photo would improve (small, blurred, unlike the others): one sentence each. */
  readonly advice: readonly { readonly file: string; readonly text: string }[];
}

export interface PhotoError {
  readonly file: string;
  readonly reason: string;
}

/**
 * The verdict on one face, with the two best-scoring known people: the matcher's decision is not
 * changed, only shown with the scores it was made from.
 */
export interface FaceDecision {
  readonly box: Box;
  readonly verdict: FaceMatch['kind'];
  /** Who it was filed under, when `verdict` is 'person'. */
  readonly person?: string;
  /** Why it was not named, otherwise. */
  readonly reason?: string;
  readonly best?: PersonScore;
  readonly runnerUp?: PersonScore;
}

export interface PhotoOutcome {
  readonly file: string;
  readonly hash: string;
  readonly faces: number;
  /** One per face, in the detector's order. */
  readonly decisions: readonly FaceDecision[];
  readonly people: readonly string[];
  readonly unknownFaces: number;
  /** The output folders it belongs in now. */
  readonly folders: readonly string[];
}

/** One photo found under several names among the inputs. */
export interface Duplicate {
  /** The name it is filed under. */
  readonly kept: string;
  /** The other names of the same bytes, not filed again. */
  readonly same: readonly string[];
}

export interface ArchiveReport {
  readonly known: readonly KnownPerson[];
  /** Photos this run looked at. */
  readonly photos: number;
  readonly faces: number;
  /** Photos in each known person's folder after the run (in a dry run: after it would have run). */
  readonly perPerson: Readonly<Record<string, number>>;
  /** Photos in `_unknown/` and `_no_faces/` after the run. */
  readonly unknown: number;
  readonly noFaces: number;
  /** Every photo in each output folder after the run, by folder. */
  readonly folders: Readonly<Record<string, readonly string[]>>;
  /** What this run changed (in a dry run: would change). */
  readonly changes: SyncChanges;
  readonly dryRun: boolean;
  readonly errors: readonly PhotoError[];
  /**
   * Inputs with the same bytes under different names: the photo is filed once, under the first
   * name in path order, and the others are listed here so that nobody wonders where they went.
   */
  readonly duplicates: readonly Duplicate[];
  readonly outcomes: readonly PhotoOutcome[];
  readonly zips: readonly ZipWritten[];
  readonly elapsedMs: number;
  readonly photosPerSecond: number;
  /**
   * Unknown faces that look like one person (in two photos or more), largest group first: who to
   * add to `known/` next. Only the first 600 unknown faces (by file name) are grouped.
   */
  readonly unknownClusters: readonly (readonly UnknownFace[])[];
  /** `report.html` in the output folder, for people to review the run (none in a dry run). */
  readonly reportFile?: string;
}

/** An unknown face: the photo and the face's index in it (as in `PhotoOutcome.decisions`). */
export interface UnknownFace {
  readonly file: string;
  readonly face: number;
}
