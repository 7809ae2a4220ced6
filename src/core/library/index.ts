export { PhotoLibrary, THRESHOLD_RANGE, albumsOf, numberedFaces, photoRef, type LibraryDefaults, type LibraryDependencies } from './photo-library.ts';
export type * from './results.ts';
export { cleanPersonName, sameName, MAX_NAME_LENGTH } from './names.ts';
export { clusterFaces } from './clustering.ts';
