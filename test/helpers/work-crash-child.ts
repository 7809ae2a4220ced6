/**
 * The process the pending-work crash test kills: a library on real stores (SQLite through keyv, album
 * folders on disk) with the fake engine, so each run takes a second, not minutes. MODE=setup enrols
 * three people and posts 120 photos; MODE=threshold sets the threshold to 0.9 (Anna's changed looks,
 * at about 0.91, move into her album); MODE=forget forgets Anna; MODE=verify runs the start-up check
 * (which finishes pending work) and prints the library's state as one JSON line.
 */
import { writeSync } from 'node:fs';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import { silentLog } from '../../src/core/index.ts';
import { FakeFaceEngine } from '../fakes/fake-face-engine.ts';
import { FakeImageDecoder } from '../fakes/fake-image-decoder.ts';
import { FakeRenderer, post } from '../fakes/fake-library.ts';

const say = (line: string) => writeSync(1, `${line}\n`);
const G = 'tg:-42';
const [ANNA, BEN, CLEO] = [1, 2, 3];
const dataDir = process.env['DATA_DIR']!;
const config = loadConfig({ DATA_DIR: dataDir }, { cwd: dataDir });
const { library, close } = await createLibrary(config, new FakeFaceEngine(), silentLog, { decoder: new FakeImageDecoder(), renderer: new FakeRenderer() });

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
say('DONE');
