import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inProcessClusterer, silentLog, type FaceClusterer, type GroupId } from '../../src/core/index.ts';
import type { IncomingPhoto, IngestResult, PhotoLibrary } from '../../src/core/library/index.ts';
import { PhotoQueue, type PhotoJobMeta, type PhotoJobResult } from '../../src/jobs/index.ts';
import { NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { sharedEngine } from '../helpers/engine.ts';
import { Gate, gatedEngine } from '../helpers/gate.ts';
import { openTestLibrary, type TestLibrary } from '../helpers/library.ts';
import { answerTo, startTelegram, textOf, type TelegramHarness } from '../helpers/telegram.ts';
import { until } from '../helpers/until.ts';

// Issue 20, finding 9: a group that is held up (here its filing waits at a gate the test holds, as
// it would behind a long /threshold or forget) must not hold up the photos of other groups.

const A: GroupId = 'tg:-1001';
const B: GroupId = 'tg:-1002';

function meta(group: GroupId, message: string): PhotoJobMeta {
  return { platform: 'test', group, postedAt: new Date().toISOString(), source: { chat: group, message } };
}

/** The library, with every filing of `held` first waiting at `gate`. */
function holding(library: PhotoLibrary, held: GroupId, gate: Gate): Pick<PhotoLibrary, 'ingest'> {
  return {
    async ingest(group: GroupId, photo: IncomingPhoto): Promise<IngestResult> {
      if (group === held) await gate.pass();
      return library.ingest(group, photo);
    },
  };
}

describe('the folder queue takes turns by group', { skip: NO_DATASETS }, () => {
  let lib: TestLibrary;
  let dir: string;

  before(async () => {
    lib = await openTestLibrary(await sharedEngine());
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-fair-'));
  });
  after(async () => {
    await lib.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("GIVEN group A's photos are held up and fill the queue THEN a photo posted in group B is filed meanwhile, and A's once it goes on", async () => {
    const gate = new Gate();
    const queue = new PhotoQueue({ dir, library: holding(lib.library, A, gate), log: silentLog, concurrency: 2 });
    const answers: { group: string; result: PhotoJobResult }[] = [];
    queue.onDone('test', (m, result) => Promise.resolve(void answers.push({ group: m.group, result })));
    await queue.start();
    const photos = await Promise.all(['bbt1.jpg', 'bbt2.jpg', 'obama1.jpg'].map((file) => readFile(path.join(POSTS, file))));
    await queue.add(photos[0]!, meta(A, '1'));
    await queue.add(photos[1]!, meta(A, '2'));
    await until(() => gate.waiting > 0, "A's first photo reaches the gate");
    await queue.add(photos[2]!, meta(B, '3'));

    // Without turns, A's second photo took the last place and waited behind the gate with the first.
    await until(() => answers.some((a) => a.group === B), "B's photo filed while A is held", 120_000);
    assert.equal(answers.find((a) => a.group === B)?.result.kind, 'filed');
    assert.equal(answers.filter((a) => a.group === A).length, 0, "A's photos are still held");
    assert.equal(gate.waiting, 1, "one of A's photos waits at the gate; the other never took a place");

    gate.open();
    await queue.idle();
    assert.deepEqual(
      answers.filter((a) => a.group === A).map((a) => a.result.kind),
      ['filed', 'filed'],
    );
    await queue.stop();
  });
});

describe("/unknown's clustering does not hold the group's lock", { skip: NO_DATASETS }, () => {
  const clustering = new Gate();
  /** Clusters as the library would, once the test lets it. */
  const clusterer: FaceClusterer = {
    async cluster(inputs, threshold, minPhotos) {
      await clustering.pass();
      return inProcessClusterer.cluster(inputs, threshold, minPhotos);
    },
  };
  let lib: TestLibrary;
  let dir: string;

  before(async () => {
    lib = await openTestLibrary(await sharedEngine(), {}, { clusterer });
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-fair-'));
  });
  after(async () => {
    await lib.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("GIVEN /unknown is clustering a group's faces THEN a photo posted in that group meanwhile is filed, and the clusters come once it is done", async () => {
    // Nobody is enrolled: every face of the Big Bang Theory posts is unknown, the cast in several.
    for (const file of ['bbt1.jpg', 'bbt2.jpg', 'bbt3.jpg', 'bbt4.jpg']) {
      const result = await lib.library.ingest(A, {
        bytes: await readFile(path.join(POSTS, file)),
        postedAt: new Date(),
        queuedAt: new Date(),
        source: { file },
      });
      assert.equal(result.kind, 'filed');
    }
    const clusters = lib.library.unknownClusters(A);
    await until(() => clustering.waiting > 0, 'the clustering has started');

    const queue = new PhotoQueue({ dir, library: lib.library, log: silentLog, concurrency: 2 });
    const answers: PhotoJobResult[] = [];
    queue.onDone('test', (_meta, result) => Promise.resolve(void answers.push(result)));
    await queue.start();
    await queue.add(await readFile(path.join(POSTS, 'bbt5.jpg')), meta(A, '5'));
    // Before, the clustering held the group's lock: the photo waited for it to end.
    await until(() => answers.length > 0, 'the photo filed while the clustering is held', 120_000);
    assert.equal(answers[0]?.kind, 'filed');
    assert.equal(clustering.waiting, 1, 'the clustering is still held');

    clustering.open();
    const result = await clusters;
    assert.ok(result.clusters.length > 0, 'the cast turns up in several photos');
    assert.ok(result.sheet, 'with a contact sheet');
    await queue.stop();
  });
});

describe('the folder queue is bounded, and one group fills at most half of it (Telegram)', { skip: NO_DATASETS }, () => {
  const detection = new Gate();
  let bot: TelegramHarness;

  before(async () => {
    bot = await startTelegram({ QUEUE_MAX_PHOTOS: '4' }, {}, { wrapEngine: (engine) => gatedEngine(engine, detection) });
  });
  after(async () => {
    detection.open();
    await bot.close();
  });

  it('GIVEN group A already has its half of the queue waiting THEN its next photo is refused with a reply, not filed, and group B still posts', async () => {
    const e = bot.emulator;
    const admin = e.user(100, 'Ada');
    const [a, b] = [-1003, -1004];
    e.addChat({ id: a, type: 'supergroup', title: 'A' }, { creator: admin });
    e.addChat({ id: b, type: 'supergroup', title: 'B' }, { creator: admin });
    const photos = await Promise.all(['bbt1.jpg', 'bbt2.jpg', 'bbt3.jpg', 'obama1.jpg'].map((file) => readFile(path.join(POSTS, file))));
    await e.postPhoto(a, admin, photos[0]!);
    await e.postPhoto(a, admin, photos[1]!);
    await until(() => detection.waiting === 2, "A's two photos are queued and held");

    const refused = await e.postPhoto(a, admin, photos[2]!);
    assert.match(textOf(await e.waitFor(answerTo(refused), 60_000)), /Too many photos are waiting .* post it again/);
    await e.postPhoto(b, admin, photos[3]!);
    await until(() => detection.waiting === 3, "B's photo is queued all the same");
    await e.idle(60_000);

    detection.open();
    await bot.bots.idle();
    for (const [chat, photos] of [
      [a, 2],
      [b, 1],
    ] as const) {
      const stats = e.postText(chat, admin, '/stats');
      assert.match(textOf(await e.waitFor(answerTo(stats), 60_000)), new RegExp(`^Photos: ${photos}$`, 'm'));
    }
  });
});
