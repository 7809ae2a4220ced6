/**
 * The desktop archiver: `ArchiveJob.plan(request)` checks the paths and lists the work, then
 * `new ArchiveJob(deps).run(plan)` files the photos, keeps the output folder in sync through its
 * manifest, and returns an `ArchiveReport`. Progress arrives through `ArchiveProgress`.
 */
export {
  ArchiveJob,
  NO_FACES_FOLDER,
  UNKNOWN_FOLDER,
  type ArchiveDependencies,
  type ArchivePhase,
  type ArchivePlan,
  type ArchiveProgress,
  type ArchiveRequest,
} from './archive-job.ts';
export type { ArchiveReport, Duplicate, FaceDecision, KnownPerson, PhotoError, PhotoOutcome, UnknownFace } from './report.ts';
export { MANIFEST_NAME } from './manifest.ts';
export {
  CORRECTIONS_NAME,
  NO_CORRECTIONS,
  addNotThis,
  readCorrections,
  removeNotThis,
  rejectedFor,
  withoutRejected,
  type Corrections,
  type NotThis,
} from './corrections.ts';
export { REPORT_NAME } from './report-html.ts';
export { CHECK_FOLDER } from './sheets.ts';
export type { KnownProblem, KnownProblemKind } from './known-check.ts';
export type { CopyChange, SyncChanges, ZipWritten } from './sync.ts';
export type { PlacementMode } from '../files/index.ts';
