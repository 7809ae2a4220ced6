import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { albumsOf, photoRef } from '../../src/core/library/index.ts';
import { fakeLibrary, post } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const OTHER = 'dc:2';
const [ANNA, BEN] = [1, 2];

describe('PhotoLibrary.checkConsistency (fakes)', () => {
  it('GIVEN files in line with the records THEN every group is checked and nothing changes', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA])).bytes } });
    await t.library.ingest(OTHER, { bytes: (await post([BEN])).bytes });
    const reports = await t.library.checkConsistency();
    assert.deepEqual([...reports.keys()].sort(), [OTHER, G].sort());
    for (const report of reports.values()) {
      assert.deepEqual(report, {
        temporaryFilesRemoved: 0,
        orphanOriginalsRemoved: 0,
        recordsWithoutOriginal: [],
        albumLinksRestored: 0,
        strayAlbumFilesRemoved: 0,
      });
    }
  });

  it('GIVEN a run interrupted between the files and the records THEN the album links come back, strays and orphans go, and records without an original are dropped', async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
    await t.library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN], 100)).bytes } });
    const both = await post([ANNA, BEN], 110);
    const lost = await post([ANNA], 120);
    await t.library.ingest(G, { bytes: both.bytes });
    await t.library.ingest(G, { bytes: lost.bytes });
    const bothRef = photoRef((await t.photos.get(G, both.hash))!);
    const lostRef = photoRef((await t.photos.get(G, lost.hash))!);
    // What a crash leaves: a link never made, a link the records do not know, an original never
    // acknowledged, and a record whose original vanished.
    await t.albums.unlink(G, 'Ben', bothRef);
    await t.albums.link(G, 'Ben', lostRef);
    const orphan = { hash: 'b'.repeat(64), ext: 'png', date: '2026-01-01T00:00:00Z' };
    await t.albums.storeOriginal(G, orphan, Buffer.from('never acknowledged'));
    await t.albums.deleteOriginal(G, lostRef);

    const report = (await t.library.checkConsistency()).get(G);
    assert.deepEqual(report, {
      temporaryFilesRemoved: 0,
      orphanOriginalsRemoved: 1,
      recordsWithoutOriginal: [lost.hash],
      albumLinksRestored: 1,
      strayAlbumFilesRemoved: 1,
    });
    assert.equal(await t.photos.get(G, lost.hash), undefined, 'the record without its original is dropped');
    assert.ok((await t.albumOf(G, 'Ben')).includes(both.hash));
    assert.equal(await t.albums.hasOriginal(G, orphan), false);
    const people = await t.gallery.list(G);
    const expected = albumsOf(await t.photos.list(G), people);
    assert.deepEqual((await t.albums.list(G, 'Ben')).map((e) => e.hash).sort(), [...expected.get('Ben')!].sort());
    // Anna's album keeps its file of the lost photo: it may be the last copy there is.
    assert.deepEqual((await t.albums.list(G, 'Anna')).map((e) => e.hash).sort(), [...expected.get('Anna')!, lost.hash.slice(0, 8)].sort());
  });
});
