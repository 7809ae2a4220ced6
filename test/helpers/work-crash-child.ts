/**
 * The process the pending-work crash test kills: a library on real stores (SQLite tables, album
 * folders on disk) with the fake engine, so each run takes a second, not minutes. MODE=setup enrols
 * three people and posts 120 photos; MODE=threshold sets the threshold to 0.9 (Anna's changed looks,
 * at about 0.91, move into her album); MODE=forget forgets Anna; MODE=verify runs the start-up check
 * (which finishes pending work) and prints the library's state as one JSON line.
 *
 * Every change the library makes to its stores and album folders is counted; a run prints how many
 * it made (`WRITES <n>`), and with KILL_AFTER=k it kills itself (SIGKILL) right after the k-th:
 * the kill lands at the same step of the work however busy the machine is.
 */
import { writeSync } from 'node:fs';
import { loadConfig } from '../../src/config.ts';
import { silentLog } from '../../src/core/index.ts';
import { PhotoLibrary } from '../../src/core/library/index.ts';
import { FsAlbumStore } from '../../src/albums/index.ts';
import { DEFAULT_THRESHOLD } from '../../src/recognition/index.ts';
import { SqlAuditLog, SqlGalleryStore, SqlPhotoStore, SqlSettingsStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { FakeFaceEngine } from '../fakes/fake-face-engine.ts';
import { FakeImageDecoder } from '../fakes/fake-image-decoder.ts';
import { FakeRenderer, post } from '../fakes/fake-library.ts';

const say = (line: string) => writeSync(1, `${line}\n`);
const G = 'tg:-42';
const [ANNA, BEN, CLEO] = [1, 2, 3];
const dataDir = process.env['DATA_DIR']!;
const config = loadConfig({ DATA_DIR: dataDir }, { cwd: dataDir });

const MUTATORS = new Set(['save', 'delete', 'writeMany', 'assign', 'eraseUnknownEmbeddings', 'saveClusters', 'forgetGroup', 'record', 'scrub']);
const FILE_MUTATORS = new Set(['storeOriginal', 'deleteOriginal', 'link', 'unlink', 'removeAlbum', 'moveGroup', 'removeGroup']);
const killAfter = Number(process.env['KILL_AFTER'] ?? 0);
let writes = 0;
/** `target`, with each call of a method named in `names` counted once it is done (and the process killed at KILL_AFTER). */
function counted<T extends object>(target: T, names: ReadonlySet<string>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || !names.has(property)) return value;
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        if (++writes === killAfter) process.kill(process.pid, 'SIGKILL');
        return result;
      };
    },
  });
}

const database = await openLibraryDatabase({ dataDir });
const library = new PhotoLibrary({
  engine: new FakeFaceEngine(),
  decoder: new FakeImageDecoder(),
  renderer: new FakeRenderer(),
  gallery: counted(new SqlGalleryStore(database.db), MUTATORS),
  photos: counted(new SqlPhotoStore(database.db), MUTATORS),
  settings: counted(new SqlSettingsStore(database.db), MUTATORS),
  audit: counted(new SqlAuditLog(database.db), MUTATORS),
  albums: counted(new FsAlbumStore(dataDir), FILE_MUTATORS),
  defaults: {
    threshold: config.match.threshold ?? DEFAULT_THRESHOLD,
    margin: config.match.margin,
    replyMode: config.library.replyMode,
    unknownRetentionDays: config.library.unknownRetentionDays,
    minClusterPhotos: config.library.minClusterPhotos,
  },
  compact: () => database.compact(),
  log: silentLog,
});
const close = () => database.close();

switch (process.env['MODE'] ?? 'verify') {
  case 'setup': {
    for (const identity of [ANNA, BEN, CLEO])
      await library.enroll(G, { name: `P${identity}`, photo: { bytes: (await post([identity], 10 + identity)).bytes } });
    const shapes = [[ANNA], [BEN], [ANNA, BEN], [CLEO, ANNA]] as const;
    for (let i = 0; i < 120; i++) {
      const look = i % 2 === 0 ? 'clear' : 'changed';
      const faces = shapes[i % shapes.length]!.map((identity) => ({ identity, look }) as const);
      await library.ingest(G, { bytes: (await post(faces, 20 + i)).bytes });
    }
    break;
  }
  case 'threshold':
    say('READY');
    await library.setThreshold(G, 0.9);
    break;
  case 'forget':
    say('READY');
    await library.forget(G, { name: `P${ANNA}` });
    break;
  case 'verify': {
    await library.checkConsistency();
    const people = await library.people(G);
    const albums: Record<string, string[]> = {};
    for (const person of people) {
      const album = await library.album(G, person.name);
      albums[person.name] = album.kind === 'album-photos' ? album.entries.map((e) => e.hash).sort() : [];
    }
    const settings = await library.settings(G);
    say(`STATE ${JSON.stringify({ people: people.map((p) => p.name), albums, threshold: settings.threshold, stats: await library.stats(G) })}`);
    break;
  }
}
await close();
say(`WRITES ${writes}`);
say('DONE');
