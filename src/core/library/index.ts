// What the library folder offers: the `PhotoLibrary` facade, what it is built from and answers
// with, and the few helpers other layers share. The use-case modules and their context stay private.
export { PhotoLibrary } from './photo-library.ts';
export type { LibraryDefaults, LibraryDependencies } from './context.ts';
export type { RedescribeFailure, RedescribeOptions, RedescribeProgress, RedescribeReport } from './redescribe.ts';
export { photoRef } from './context.ts';
export { THRESHOLD_RANGE } from './threshold.ts';
export { numberedFaces } from './enrollment.ts';
export { albumsOf } from './consistency.ts';
export type * from './results.ts';
export { cleanPersonName, confusableNames, nameSkeleton, sameName, MAX_NAME_LENGTH, type NameRefusal } from './names.ts';
export { AUDIT_ENTRIES_KEPT, FORGOTTEN, scrubEntry } from './audit.ts';
export type { BrowseQuery, BrowsePage, BrowsedPhoto, BrowsedPhotoDetail, PreviewFace, PreviewMaker } from './browse.ts';
export { SUGGEST_BELOW } from './suggestions.ts';
