import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLog } from '../../src/core/index.ts';
import { PhotoQueue, type PhotoJobMeta } from '../../src/jobs/index.ts';
import { Bot } from '../../src/bot/index.ts';
import { forget } from '../../src/bot/commands/forget.ts';
import { fakeLibrary, post } from '../fakes/fake-library.ts';
import { fakeChat } from '../fakes/fake-chat.ts';

const G = 'tg:-1';
const chat = (caller: { id: string; displayName: string }, admin: boolean) => fakeChat(G, caller, admin);

/** A photo as the queue leaves it after every try failed: its bytes, description and why. */
async function setAside(dir: string, folder: string, id: string, meta: Partial<PhotoJobMeta>): Promise<void> {
  await mkdir(path.join(dir, folder), { recursive: true });
  await writeFile(path.join(dir, folder, `${id}.bin`), 'a photo nobody filed');
  await writeFile(path.join(dir, folder, `${id}.json`), JSON.stringify({ platform: 'telegram', postedAt: new Date(0).toISOString(), source: {}, ...meta }));
  await writeFile(path.join(dir, folder, `${id}.why.txt`), 'ENOSPC\n');
}

/** Issue 20, finding 6: set-aside photos were kept whoever was forgotten. */
describe('/forget and the photos set aside', () => {
  it("GIVEN set-aside photos WHEN a member forgets themselves THEN theirs go; WHEN an admin forgets someone THEN the group's go; another group's stay", async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-forget-aside-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { library } = fakeLibrary();
    const queue = new PhotoQueue({ dir, library, log: silentLog, concurrency: 1 });
    const bot = new Bot({ library, queue, log: silentLog, eraseAfterDays: 30, commands: [forget] });
    for (const [name, identity, userId] of [
      ['Ben', 1, 'tg:7'],
      ['Cleo', 2, 'tg:8'],
    ] as const)
      assert.equal((await library.enroll(G, { name, userId, photo: { bytes: (await post([identity], 100)).bytes } })).kind, 'enrolled');
    await setAside(dir, 'dead-letter', '01-ben', { group: G, postedBy: 'tg:7' });
    await setAside(dir, 'quarantine', '02-ben', { group: G, postedBy: 'tg:7' });
    await setAside(dir, 'dead-letter', '03-dan', { group: G, postedBy: 'tg:9' });
    await setAside(dir, 'dead-letter', '04-ben-elsewhere', { group: 'tg:-2', postedBy: 'tg:7' });
    const left = async () =>
      (await Promise.all(['dead-letter', 'quarantine'].map((f) => readdir(path.join(dir, f)))))
        .flat()
        .filter((n) => n.endsWith('.bin'))
        .sort();

    const ben = chat({ id: 'tg:7', displayName: 'Ben' }, false);
    await bot.command(ben, 'forget', { name: 'me' });
    assert.match(ben.replies[0]!, /Ben is forgotten.*Also deleted: the 2 photos you posted that I could not file\./);
    assert.deepEqual(await left(), ['03-dan.bin', '04-ben-elsewhere.bin']);

    const admin = chat({ id: 'tg:1', displayName: 'Ada' }, true);
    await bot.command(admin, 'forget', { name: 'Cleo' });
    assert.match(admin.replies[0]!, /Cleo is forgotten.*Also deleted: the 1 photo of this group I could not file\./);
    assert.deepEqual(await left(), ['04-ben-elsewhere.bin']);
  });
});
