/** Sources of people and photos from outside the chats: known folders, Telegram Desktop exports, photo folders. */
export * from './known-folder.ts';
export { importPhotos, type ImportedPhoto, type ImportItem, type ImportOptions, type ImportOutcome, type ImportReport } from './import-photos.ts';
export { importNote } from './import-note.ts';
export {
  abandonedHandoffs,
  announceReceiver,
  HANDOFF_FOLDER,
  journalWriter,
  openHandoff,
  readJournal,
  receiverOf,
  removeAbandoned,
  removeHandoff,
  setAsideHandoff,
  waitingHandoffs,
  writeHandoff,
  type Handoff,
  type HandoffReceipt,
  type HandoffReceiver,
  type OpenedHandoff,
} from './handoff.ts';
export { openExportFiles, type ExportFiles } from './export-files.ts';
export { parseTelegramExport, telegramItems, TELEGRAM_RESULT_FILE, type MissingPhoto, type TelegramExport, type TelegramPhoto } from './telegram-export.ts';
export { folderItems } from './photo-folder.ts';
