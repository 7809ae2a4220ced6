export { FsAlbumStore, albumEntryName } from './fs-album-store.ts';
export { safeFolderName, uniqueFolderName, groupFolderName, groupFromFolderName, MAX_NAME_BYTES } from './safe-name.ts';
export { writeZip } from './zip.ts';
export type { ZipEntry } from './zip.ts';
export { planZipParts, zipParts } from './zip-parts.ts';
export type { PartEntry, PartPlan, ZipParts, ZipPartsOptions } from './zip-parts.ts';
