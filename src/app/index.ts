/**
 * The wiring, and only it: config -> stores -> engine -> library -> roles. Every entry point (the
 * CLI's commands) starts here; no feature room imports it.
 */
export { startBots, type RunningBots, type StartOptions } from './bot.ts';
export { startWorker, type RunningWorker } from './worker.ts';
export { openLibrary, type OpenLibraryOptions, type OpenedLibrary } from './library.ts';
export { createArchiverParts, createDecoder, createEngine, createLibrary, startRedescription, type ArchiverParts, type LibraryParts } from './parts.ts';
export { startLocalPage, type LocalPage } from './page.ts';
export { noteToGroup } from './group-note.ts';
export { backupLibrary, restoreLibrary, type BackupReport, type RestoreReport } from './backup.ts';
