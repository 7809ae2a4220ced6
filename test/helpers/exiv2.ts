import { execFile, spawnSync } from 'node:child_process';

/** exiv2 reads the XMP back: a second reader, independent of the exiftool that wrote it. */
export const NO_EXIV2 =
  spawnSync('exiv2', ['--version']).status === 0 ? false : 'exiv2 is not installed (apt-get install exiv2): the XMP read-back tests need it';

/** One MWG face region as exiv2 reads it: normalised, centre-based. */
export interface ReadRegion {
  readonly name: string;
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** What exiv2 finds in a photo or an `.xmp` sidecar: every EXIF and XMP key, and the MWG regions parsed. */
export interface ReadMetadata {
  readonly keys: ReadonlyMap<string, string>;
  readonly appliedTo?: { readonly w: number; readonly h: number };
  readonly regions: readonly ReadRegion[];
}

export function readWithExiv2(file: string): Promise<ReadMetadata> {
  return new Promise((resolve, reject) => {
    execFile('exiv2', ['-PEXkv', file], { maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      // exiv2 exits 253 when a file has no metadata at all: that is an answer, not a failure.
      if (error && stdout.trim() === '' && !/No Exif data|No XMP data/i.test(stderr)) return reject(new Error(`exiv2 ${file}: ${stderr || error.message}`));
      const keys = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const m = /^(\S+)\s*(.*)$/.exec(line);
        if (m) keys.set(m[1]!, m[2]!.trim());
      }
      const prefix = 'Xmp.mwg-rs.Regions/mwg-rs:';
      const regions: ReadRegion[] = [];
      for (let i = 1; keys.has(`${prefix}RegionList[${i}]`); i++) {
        const field = (name: string): string => keys.get(`${prefix}RegionList[${i}]/${name}`) ?? '';
        regions.push({
          name: field('mwg-rs:Name'),
          type: field('mwg-rs:Type'),
          x: Number(field('mwg-rs:Area/stArea:x')),
          y: Number(field('mwg-rs:Area/stArea:y')),
          w: Number(field('mwg-rs:Area/stArea:w')),
          h: Number(field('mwg-rs:Area/stArea:h')),
        });
      }
      const w = keys.get(`${prefix}AppliedToDimensions/stDim:w`);
      const h = keys.get(`${prefix}AppliedToDimensions/stDim:h`);
      resolve({ keys, regions, ...(w && h ? { appliedTo: { w: Number(w), h: Number(h) } } : {}) });
    });
  });
}
