import type { DetectedFace, GalleryPerson } from '../core/index.ts';

/** The folders the page works on, all real absolute paths. */
export interface ArchiveFolders {
  readonly photos: string;
  readonly known: string;
  readonly output: string;
  /** Where one zip per person goes; no zips when absent. */
  readonly zips?: string;
}

export interface RunProgress {
  readonly phase: 'starting' | 'known' | 'photos' | 'filing' | 'finishing';
  readonly done: number;
  readonly total: number;
}

/** One input photo as the run decided it, with the faces it found (from the face cache). */
export interface RunPhoto {
  readonly file: string;
  /** The SHA-256 of its bytes: what a correction of one of its faces is kept under. */
  readonly hash: string;
  readonly people: readonly string[];
  /** The output folders it was filed into: people, `_unknown` or `_no_faces`. */
  readonly folders: readonly string[];
  readonly faces: readonly DetectedFace[];
  /** For each face, the people the user said it is not (see `Corrections`); none when absent. */
  readonly rejected?: readonly (readonly string[])[];
}

/** A photo in a known person's folder that the run did not use, and why. */
export interface KnownPhotoProblem {
  readonly file: string;
  readonly reason: string;
  /** A contact sheet of its faces (absolute, inside the output folder), when the job drew one. */
  readonly sheet?: string;
}

/** What the page shows after a run, and what it needs to preview changes without re-running recognition. */
export interface RunResult {
  readonly threshold: number;
  readonly margin: number;
  readonly known: readonly { readonly name: string; readonly samples: number; readonly problems: readonly KnownPhotoProblem[] }[];
  readonly photos: readonly RunPhoto[];
  readonly errors: readonly { readonly file: string; readonly reason: string }[];
  readonly zips: readonly { readonly person: string; readonly path: string; readonly photos: number; readonly bytes: number }[];
  /** The known people as the matcher saw them: a name and its sample embeddings. */
  readonly gallery: readonly GalleryPerson[];
  readonly elapsedMs: number;
}

/**
 * What the page needs from the archiver: run it over the chosen folders. The server is written
 * against this port, so its tests run with a fake and the archive job can change behind it.
 */
export interface ArchiveRunner {
  run(folders: ArchiveFolders, threshold: number, onProgress: (progress: RunProgress) => void): Promise<RunResult>;
  /** The threshold a run uses unless the page sets another. */
  readonly defaultThreshold: number;
  close(): Promise<void>;
}
