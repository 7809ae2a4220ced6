import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeLibrary, post } from '../fakes/fake-library.ts';

const OLD = 'tg:-100';
const NEW = 'tg:-1001234';
const OTHER = 'tg:-200';
const [ANNA, BEN] = [1, 2];

/** A group with Anna enrolled, two more photos of her, a threshold of its own and a logged change. */
async function familyGroup(group = OLD) {
  const t = fakeLibrary();
  await t.library.enroll(group, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes }, by: 'u1' });
  for (const size of [110, 120]) await t.library.ingest(group, { bytes: (await post([ANNA], size)).bytes });
  await t.library.setThreshold(group, 0.95, { userId: 'u0', admin: true });
  return t;
}

describe('PhotoLibrary: a group changes id, or the bot leaves it (fakes)', () => {
  it('GIVEN a group upgraded to a supergroup THEN its people, albums, settings and log move to the new id, and nothing stays under the old', async () => {
    const t = await familyGroup();
    const album = await t.albumOf(OLD, 'Anna');
    await t.library.moveGroup(OLD, NEW);
    assert.deepEqual(await t.albumOf(NEW, 'Anna'), album);
    assert.equal((await t.library.settings(NEW)).threshold, 0.95);
    assert.equal((await t.library.auditLog(NEW)).length, 2);
    assert.deepEqual(await t.library.people(OLD), []);
    assert.deepEqual(await t.photos.list(OLD), []);
    assert.deepEqual(await t.library.auditLog(OLD), []);
    assert.deepEqual(await t.albums.groups(), [NEW]);
    const later = await t.library.ingest(NEW, { bytes: (await post([ANNA], 130)).bytes });
    assert.ok(later.kind === 'filed' && later.people.map((p) => p.name).join() === 'Anna');
  });

  it('GIVEN photos posted under the new id before the move was noticed THEN both libraries merge, and each photo is decided again', async () => {
    const t = await familyGroup();
    const early = await post([ANNA], 140);
    await t.library.ingest(NEW, { bytes: early.bytes });
    await t.library.moveGroup(OLD, NEW);
    assert.ok((await t.albumOf(NEW, 'Anna')).includes(early.hash), 'the early photo is now filed under Anna');
    assert.equal((await t.albumOf(NEW, 'Anna')).length, 4);
  });

  it('GIVEN a move cut short after the files moved THEN the next consistency check finishes it, losing nothing', async () => {
    const t = await familyGroup();
    const album = await t.albumOf(OLD, 'Anna');
    // What an interrupted move leaves: the marker written, the files moved, the records not yet.
    await t.settings.save(NEW, { ...(await t.library.settings(OLD)), movingFrom: OLD });
    await t.albums.moveGroup(OLD, NEW);
    await t.library.checkConsistency();
    assert.deepEqual(await t.albumOf(NEW, 'Anna'), album);
    assert.equal((await t.settings.get(NEW))?.movingFrom, undefined);
    assert.deepEqual(await t.library.people(OLD), []);
  });

  it('GIVEN the bot removed from a group THEN its data stays through the grace period, then all of it is erased; other groups are untouched', async () => {
    const t = await familyGroup();
    await t.library.enroll(OTHER, { name: 'Ben', photo: { bytes: (await post([BEN])).bytes } });
    await t.library.markRemoved(OLD);
    t.clock.advanceDays(29);
    assert.deepEqual(await t.library.eraseLeftGroups(30), []);
    assert.equal((await t.albumOf(OLD, 'Anna')).length, 3);
    t.clock.advanceDays(2);
    assert.deepEqual(await t.library.eraseLeftGroups(30), [OLD]);
    assert.deepEqual(await t.library.people(OLD), []);
    assert.deepEqual(await t.photos.list(OLD), []);
    assert.equal(await t.settings.get(OLD), undefined);
    assert.deepEqual(await t.library.auditLog(OLD), []);
    assert.deepEqual(await t.albums.groups(), [OTHER]);
    assert.equal((await t.library.people(OTHER)).length, 1);
    assert.ok(t.compactions() > 0, 'the store is compacted so the erased faces leave the disk');
  });

  it('GIVEN the bot removed and added back within the grace period THEN nothing is erased', async () => {
    const t = await familyGroup();
    await t.library.markRemoved(OLD);
    t.clock.advanceDays(10);
    await t.library.markPresent(OLD);
    t.clock.advanceDays(60);
    assert.deepEqual(await t.library.eraseLeftGroups(30), []);
    assert.equal((await t.albumOf(OLD, 'Anna')).length, 3);
  });
});
