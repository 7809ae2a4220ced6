/** `facefile ui`: the local web page over the archiver (server, session, and the page in public/). */
export { startUiServer, type UiServer, type UiServerOptions } from './server.ts';
export { UiSession, ZIP_FOLDER, type UiSessionOptions, type SessionState, type ResultsView } from './session.ts';
export { Thumbnails } from './thumbnails.ts';
export { JobArchiveRunner } from './job-archive-runner.ts';
export type { ArchiveRunner, ArchiveFolders, RunProgress, RunResult, RunPhoto } from './archive-runner.ts';
export { previewThreshold, unknownClusters, runDistributions } from './analysis.ts';
