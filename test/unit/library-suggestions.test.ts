import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeLibrary, post, type FakeLibrary } from '../fakes/fake-library.ts';

const G = 'tg:-100';
const [ANNA, BEN] = [1, 2];

/** Anna and Ben enrolled; then a photo where Anna looks changed (about 0.91 to her sample, below 0.93), one far from her, one clear. */
async function annaChanged(): Promise<FakeLibrary & { changed: string; far: string; clear: string; people: Map<string, string> }> {
  const t = fakeLibrary();
  await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes } });
  await t.library.enroll(G, { name: 'Ben', photo: { bytes: (await post([BEN], 100)).bytes } });
  const changed = await post([{ identity: ANNA, look: 'changed' }, BEN], 110);
  const far = await post([{ identity: ANNA, look: 'far' }], 120);
  const clear = await post([ANNA], 130);
  for (const photo of [changed, far, clear]) await t.library.ingest(G, { bytes: photo.bytes, source: { channel: photo === far ? 'staff' : 'general' } });
  const people = new Map((await t.library.people(G)).map((p) => [p.name, p.id]));
  return { ...t, changed: changed.hash, far: far.hash, clear: clear.hash, people };
}

describe('PhotoLibrary.suggestions: "Is this Anna?" (fakes)', () => {
  it('GIVEN a face of Anna a little below the threshold THEN it is offered to Anna alone; one far below, or one filed, is not', async () => {
    const t = await annaChanged();
    assert.ok(!(await t.albumOf(G, 'Anna')).includes(t.changed), 'the changed face was not filed');
    const offered = await t.library.suggestions(G, t.people.get('Anna')!);
    assert.deepEqual(
      offered.map((s) => [s.photoHash, s.faceIndex]),
      [[t.changed, 0]],
    );
    assert.ok(offered[0]!.similarity > 0.89 && offered[0]!.similarity < 0.93, String(offered[0]!.similarity));
    assert.deepEqual(await t.library.suggestions(G, t.people.get('Ben')!), [], "Ben is filed on that photo, and Anna's face is not his");
    assert.deepEqual(await t.library.suggestions(G, 'nobody'), []);
  });

  it('GIVEN "yes" THEN that face becomes her sample and the photo is in her album; GIVEN "no" THEN it is never offered or filed there', async () => {
    const yes = await annaChanged();
    const enrolled = await yes.library.enroll(G, { name: 'Anna', photo: { hash: yes.changed }, face: { index: 0 }, by: 'tg:7' });
    assert.equal(enrolled.kind, 'enrolled');
    assert.ok((await yes.albumOf(G, 'Anna')).includes(yes.changed));
    assert.deepEqual(await yes.library.suggestions(G, yes.people.get('Anna')!), []);

    const no = await annaChanged();
    const dismissed = await no.library.dismissSuggestion(G, 'Anna', no.changed, { userId: 'tg:7', name: 'Bob', admin: false });
    assert.equal(dismissed.kind, 'dismissed');
    assert.deepEqual(await no.library.suggestions(G, no.people.get('Anna')!), []);
    await no.library.setThreshold(G, 0.85);
    assert.ok(!(await no.albumOf(G, 'Anna')).includes(no.changed), 'not filed under her at a looser threshold either');
    assert.ok((await no.library.auditLog(G)).some((e) => e.by === 'tg:7' && /offered as Anna is not them/.test(e.detail)));
  });

  it("GIVEN Anna linked to a member THEN only she or an admin may say no for her; another group's photo is unknown", async () => {
    const t = fakeLibrary();
    await t.library.enroll(G, { name: 'Anna', photo: { bytes: (await post([ANNA], 100)).bytes }, userId: 'tg:1', by: 'tg:1' });
    const changed = await post([{ identity: ANNA, look: 'changed' }], 110);
    await t.library.ingest(G, { bytes: changed.bytes });
    assert.equal((await t.library.dismissSuggestion(G, 'Anna', changed.hash, { userId: 'tg:2', admin: false })).kind, 'not-allowed');
    assert.equal((await t.library.dismissSuggestion(G, 'Anna', changed.hash, { userId: 'tg:2', admin: true })).kind, 'dismissed');
    assert.equal((await t.library.dismissSuggestion('tg:-200', 'Anna', changed.hash, { admin: true })).kind, 'unknown-person');
  });

  it('GIVEN walls THEN a photo the asker may not see is never offered', async () => {
    const t = await annaChanged();
    const anna = t.people.get('Anna')!;
    assert.equal((await t.library.suggestions(G, anna, (source) => Promise.resolve(source['channel'] !== 'general'))).length, 0);
    assert.equal((await t.library.suggestions(G, anna, () => Promise.resolve(true))).length, 1);
  });
});
