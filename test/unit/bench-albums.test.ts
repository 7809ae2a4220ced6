import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  POST_HEIGHT,
  CHAT,
  POST_WIDTH,
  TILE_MAX,
  TILE_MIN,
  placeTiles,
  planAlbums,
  scorePost,
  tally,
  type AlbumPlan,
  type PlacedFace,
} from '../../scripts/bench-albums.ts';
import { normalize } from '../../src/core/vector.ts';
import type { MatchPolicy } from '../../src/core/matcher.ts';
import type { Box, GalleryPerson } from '../../src/core/faces.ts';
import { random } from '../helpers/synthetic-faces.ts';

const POLICY: MatchPolicy = { threshold: 0.9, margin: 0.02 };

/** Each person's own direction: people are orthogonal, so a face is only ever close to its owner. */
const AXES = ['anna', 'ben', 'carl', 'dora', 'stranger'] as const;
type Who = (typeof AXES)[number];

/** A face of `who` whose similarity with who's sample is `cosine`. */
function faceOf(who: Who, cosine: number): Float32Array {
  const v = new Float32Array(AXES.length + 1);
  v[AXES.indexOf(who)] = cosine;
  v[AXES.length] = Math.sqrt(1 - cosine * cosine);
  return normalize(v);
}

const GALLERY: GalleryPerson[] = (['anna', 'ben', 'carl', 'dora'] as const).map((id) => ({ id, name: id, samples: [faceOf(id, 1)] }));

function tile(person: Who, x: number, member = person !== 'stranger'): Pick<PlacedFace, 'person' | 'member' | 'box'> {
  return { person, member, box: { x, y: 100, width: 200, height: 200 } };
}

/** A detection whose box lies inside the tile at `x` (a face box is smaller than its tile). */
function detection(x: number, embedding?: Float32Array): { box: Box; embedding?: Float32Array; unusable?: 'too-small' } {
  const box = { x: x + 40, y: 140, width: 120, height: 120 };
  return embedding ? { box, embedding } : { box, unusable: 'too-small' };
}

describe('the albums bench scorer', () => {
  it('GIVEN members recognised and a stranger left unknown THEN every filing is right and nothing is missed', () => {
    const post = scorePost(
      [tile('anna', 0), tile('ben', 300), tile('stranger', 600)],
      [detection(0, faceOf('anna', 0.97)), detection(300, faceOf('ben', 0.95)), detection(600, faceOf('stranger', 0.99))],
      GALLERY,
    );
    const result = tally([post], POLICY);
    assert.deepEqual(
      {
        filings: result.filings,
        right: result.right,
        appearances: result.appearances,
        missed: result.missed,
        precision: result.precision,
        recall: result.recall,
      },
      { filings: 2, right: 2, appearances: 2, missed: 0, precision: 1, recall: 1 },
    );
  });

  it('GIVEN a stranger who looks like a member THEN the filing counts as a stranger named and lowers precision', () => {
    const post = scorePost([tile('anna', 0), tile('stranger', 300)], [detection(0, faceOf('anna', 0.97)), detection(300, faceOf('carl', 0.95))], GALLERY);
    const result = tally([post], POLICY);
    assert.equal(result.strangerNamed, 1);
    assert.equal(result.memberConfused, 0);
    assert.equal(result.precision, 1 / 2);
    assert.equal(result.recall, 1);
  });

  it('GIVEN a member named as another member who is absent THEN it is a member confused and the member is missed', () => {
    const post = scorePost([tile('anna', 0)], [detection(0, faceOf('dora', 0.96))], GALLERY);
    const result = tally([post], POLICY);
    assert.deepEqual([result.memberConfused, result.strangerNamed, result.missed, result.right], [1, 0, 1, 0]);
  });

  it('GIVEN a detection outside every tile named as a member THEN it is counted apart from strangers and members', () => {
    const post = scorePost(
      [tile('ben', 0)],
      [detection(0, faceOf('ben', 0.97)), { box: { x: 1300, y: 700, width: 100, height: 100 }, embedding: faceOf('carl', 0.95) }],
      GALLERY,
    );
    const result = tally([post], POLICY);
    assert.deepEqual([result.elsewhereNamed, result.strangerNamed, result.memberConfused, result.right], [1, 0, 0, 1]);
  });

  it('GIVEN a face the detector missed and one too small to name THEN both members are missed and the faces are counted', () => {
    const post = scorePost([tile('anna', 0), tile('ben', 300), tile('stranger', 600)], [detection(300)], GALLERY);
    const result = tally([post], POLICY);
    assert.deepEqual([result.tiles, result.notFound, result.unusable, result.missed, result.filings], [3, 2, 1, 2, 0]);
  });

  it("GIVEN a face below the threshold THEN raising the threshold drops its filing (the matcher's own rule)", () => {
    const post = scorePost([tile('anna', 0)], [detection(0, faceOf('anna', 0.92))], GALLERY);
    assert.equal(tally([post], { threshold: 0.9, margin: 0.02 }).right, 1);
    assert.equal(tally([post], { threshold: 0.95, margin: 0.02 }).right, 0);
  });

  it('GIVEN two faces claiming one member THEN the post is filed under them once, by the closer face', () => {
    // A stranger who is anna's look-alike loses anna's name to anna herself: no wrong filing.
    const post = scorePost([tile('anna', 0), tile('stranger', 300)], [detection(0, faceOf('anna', 0.98)), detection(300, faceOf('anna', 0.93))], GALLERY);
    const result = tally([post], POLICY);
    assert.deepEqual([result.filings, result.right, result.strangerNamed], [1, 1, 0]);
  });
});

describe('the albums bench set', () => {
  /** 12 people with 5 images, 30 with 1-2: enough for 10 members with 3 samples and strangers. */
  const people = new Map<string, string[]>([
    ...Array.from({ length: 12 }, (_, i) => [`member${i}`, Array.from({ length: 5 }, (_, k) => `member${i}/${k}.jpg`)] as [string, string[]]),
    ...Array.from({ length: 30 }, (_, i) => [`stranger${i}`, Array.from({ length: 1 + (i % 2) }, (_, k) => `stranger${i}/${k}.jpg`)] as [string, string[]]),
  ]);
  const options = { members: 10, samples: 3, posts: 60, seed: 1 };

  function plan(): AlbumPlan {
    const result = planAlbums(people, options);
    assert.ok(!('problem' in result), 'problem' in result ? result.problem : '');
    return result;
  }

  it('GIVEN the same seed THEN the same set is planned, and another seed plans another', () => {
    assert.deepEqual(plan(), plan());
    assert.notDeepEqual(planAlbums(people, { ...options, seed: 2 }), plan());
  });

  it('GIVEN members with samples THEN no post shows a member from one of their samples, and strangers are never enrolled', () => {
    const set = plan();
    assert.equal(set.members.length, 10);
    const samples = new Map(set.members.map((m) => [m.name, new Set(m.samples)]));
    for (const member of set.members) assert.equal(member.samples.length, 3);
    for (const face of set.posts.flatMap((p) => p.faces)) {
      if (face.member) assert.ok(!samples.get(face.person)?.has(face.image), `${face.image} is a sample`);
      else assert.ok(!samples.has(face.person) && (people.get(face.person)?.length ?? 0) <= 2, `${face.person} is no stranger`);
    }
    assert.ok(set.posts.some((p) => p.faces.some((f) => f.member)) && set.posts.some((p) => p.faces.some((f) => !f.member)));
  });

  it('GIVEN posts THEN each holds 0-5 distinct people in tiles that fit, do not overlap, and keep brightness and quality in range', () => {
    for (const post of plan().posts) {
      assert.ok(post.faces.length <= 5);
      assert.equal(new Set(post.faces.map((f) => f.person)).size, post.faces.length);
      assert.ok(post.quality >= 60 && post.quality <= 95);
      post.faces.forEach((face, i) => {
        const { x, y, width, height } = face.box;
        assert.ok(width === height && width >= TILE_MIN && width <= TILE_MAX && x >= 0 && y >= 0 && x + width <= POST_WIDTH && y + height <= POST_HEIGHT);
        assert.ok(face.brightness >= 0.7 && face.brightness <= 1.3);
        for (const other of post.faces.slice(i + 1)) assert.ok(!overlap(face.box, other.box), `${post.name}: tiles overlap`);
      });
    }
  });

  it('GIVEN the chat variant THEN posts are 1280x853 with 2-8 turned, partly blurred faces of 48-120 px, JPEG 70-85', () => {
    const result = planAlbums(people, { ...options, variant: 'chat' });
    assert.ok(!('problem' in result));
    let blurred = 0;
    for (const post of result.posts) {
      assert.deepEqual([post.width, post.height], [CHAT.width, CHAT.height]);
      assert.ok(post.faces.length <= 8 && post.quality >= 70 && post.quality <= 85);
      post.faces.forEach((face, i) => {
        const { x, y, width, height } = face.box;
        assert.ok(width === height && x >= 0 && y >= 0 && x + width <= CHAT.width && y + height <= CHAT.height);
        assert.ok(face.angle !== undefined && Math.abs(face.angle) <= 12);
        // The face inside the turned tile's bounding square: 48-120 px, as a chat delivers a group photo.
        const radians = (Math.abs(face.angle) * Math.PI) / 180;
        const faceSide = (width / (Math.cos(radians) + Math.sin(radians))) * 0.7;
        assert.ok(faceSide >= 47 && faceSide <= 121, `${post.name}: a face of ${faceSide.toFixed(0)} px`);
        if (face.blur !== undefined) {
          blurred++;
          assert.ok(face.blur >= 0.6 && face.blur <= 1.6);
        }
        for (const other of post.faces.slice(i + 1)) assert.ok(!overlap(face.box, other.box), `${post.name}: tiles overlap`);
      });
    }
    const faces = result.posts.reduce((n, p) => n + p.faces.length, 0);
    assert.ok(result.posts.every((p) => p.faces.length >= 2) && blurred > faces * 0.3 && blurred < faces * 0.7, `${blurred} of ${faces} blurred`);
  });

  it('GIVEN too few people with enough images THEN the plan says so instead of a smaller set', () => {
    const result = planAlbums(people, { ...options, members: 13 });
    assert.ok('problem' in result && result.problem.includes('LFW has 12'));
  });

  it('GIVEN five of the largest tiles THEN they are still placed without overlap, shrinking where they must', () => {
    const boxes = placeTiles([450, 450, 450, 450, 450], random(3));
    const placed = boxes.filter((b): b is Box => b !== undefined);
    assert.ok(placed.length >= 4, `only ${placed.length} placed`);
    placed.forEach((box, i) => {
      for (const other of placed.slice(i + 1)) assert.ok(!overlap(box, other));
    });
  });
});

function overlap(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}
