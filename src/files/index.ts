/** File helpers shared by the archiver and the album store: photo names, paths, placing copies. */
export * from './files.ts';
