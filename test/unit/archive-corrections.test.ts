import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CORRECTIONS_NAME, addNotThis, readCorrections, rejectedFor, removeNotThis, withoutRejected } from '../../src/archive/index.ts';
import { matchPhoto } from '../../src/web/analysis.ts';
import { nudged } from '../helpers/synthetic-faces.ts';

const HASH = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const box = { x: 100, y: 100, width: 50, height: 50 };

const embedding = nudged;

describe('the archiver’s corrections ("not this person")', () => {
  let known: string;
  before(async () => {
    known = await mkdtemp(path.join(os.tmpdir(), 'facefile-corrections-'));
  });
  after(async () => {
    await rm(known, { recursive: true, force: true });
  });

  it('GIVEN no file THEN there are none, and a correction added is read back once however often it is made', async () => {
    assert.deepEqual((await readCorrections(known)).notThis, []);
    await addNotThis(known, { hash: HASH, box, person: 'Anna' });
    // The same face a pixel away, and the same person: nothing new.
    await addNotThis(known, { hash: HASH, box: { ...box, x: 101 }, person: 'Anna' });
    const read = await readCorrections(known);
    assert.equal(read.notThis.length, 1);
    assert.equal(read.notThis[0]?.person, 'Anna');
  });

  it('THEN it applies to that face of those bytes only: not to a face elsewhere in the photo, nor to another photo', () => {
    const corrections = { notThis: [{ hash: HASH, box, person: 'Anna' }] };
    const faces = [{ box }, { box: { x: 300, y: 100, width: 50, height: 50 } }];
    const [first, second] = rejectedFor(corrections, HASH, faces);
    assert.deepEqual([...first!], ['Anna']);
    assert.deepEqual([...second!], []);
    assert.deepEqual(
      rejectedFor(corrections, OTHER, faces).map((s) => s.size),
      [0, 0],
    );
  });

  it('THEN the matcher files the face under the next person above the threshold, or leaves it unknown', () => {
    const gallery = [
      { id: 'Anna', name: 'Anna', samples: [embedding(0)] },
      { id: 'Ben', name: 'Ben', samples: [embedding(1)] },
    ];
    const policy = { threshold: 0.5, margin: 0.02 };
    // Closest to Anna (about 0.8), close enough to Ben too (about 0.6).
    const face = { box, score: 0.99, eyeDistance: 20, embedding: embedding(0, 1, 0.4) };
    assert.equal(matchPhoto({ faces: [face] }, gallery, policy)[0]?.kind, 'person');
    const [notAnna] = matchPhoto({ faces: [face], rejected: [['Anna']] }, gallery, policy);
    assert.deepEqual(notAnna?.kind === 'person' && notAnna.personId, 'Ben');
    const [neither] = matchPhoto({ faces: [face], rejected: [['Anna', 'Ben']] }, gallery, policy);
    assert.equal(neither?.kind, 'unknown');
    const scores = withoutRejected([[{ personId: 'Anna', similarity: 0.9 }], undefined], [new Set(['Anna']), new Set()]);
    assert.deepEqual(scores, [[], undefined]);
  });

  it('WHEN it is taken back THEN the face may be that person again', async () => {
    await removeNotThis(known, { hash: HASH, box, person: 'Anna' });
    assert.deepEqual((await readCorrections(known)).notThis, []);
  });

  it('GIVEN a file that is not JSON, of another shape, or hostile THEN none apply and the run goes on; the next correction replaces it', async () => {
    const file = path.join(known, CORRECTIONS_NAME);
    for (const text of [
      '{ not json',
      JSON.stringify({ version: 2, notThis: [] }),
      JSON.stringify({ version: 1, notThis: [{ hash: '../../etc/passwd', box, person: 'Anna' }] }),
      JSON.stringify({ version: 1, notThis: [{ hash: HASH, box: { ...box, width: -1 }, person: 'Anna' }] }),
      JSON.stringify({ version: 1, notThis: 'x'.repeat(100) }),
    ]) {
      await writeFile(file, text);
      assert.deepEqual((await readCorrections(known)).notThis, [], text);
    }
    await addNotThis(known, { hash: HASH, box, person: 'Ben' });
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { version: 1, notThis: [{ hash: HASH, box, person: 'Ben' }] });
  });
});
