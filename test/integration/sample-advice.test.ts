import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import { silentLog, type SampleAdvice } from '../../src/core/index.ts';
import type { EnrollResult, PhotoLibrary } from '../../src/core/library/index.ts';
import { enrollReply } from '../../src/bot/replies.ts';
import { LFW, NO_DATASETS } from '../helpers/datasets.ts';
import { sharedEngine } from '../helpers/engine.ts';
import { runCli } from '../helpers/cli.ts';

const GROUP = 'tg:-100555';
const ANNA = 'Ricardo_Lagos';
const BEN = 'Paul_Wolfowitz';
const CLEO = 'Zhu_Rongji';
const DORA = 'Tang_Jiaxuan';
const STRANGER = 'Jennifer_Lopez';

/** Feedback at enrolment (issue 21): the sample is taken, and the user hears what a better photo would change. */
describe('advice on a new sample, on real photos and models', { skip: NO_DATASETS }, () => {
  let dir: string;
  let parts: Awaited<ReturnType<typeof createLibrary>> | undefined;
  let library: PhotoLibrary;
  const photo = async (person: string, n: number) => readFile(path.join(LFW, person, (await readdir(path.join(LFW, person))).sort()[n]!));
  const kinds = (result: EnrollResult) => {
    assert.equal(result.kind, 'enrolled', result.kind === 'choose-face' ? `${result.faces} faces` : JSON.stringify(result));
    return result.advice.map((a: SampleAdvice) => a.kind);
  };
  const enroll = (name: string, bytes: Uint8Array) => library.enroll(GROUP, { name, photo: { bytes }, face: 'likely', by: 'admin', byAdmin: true });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-advice-'));
    parts = await createLibrary(loadConfig({ DATA_DIR: path.join(dir, 'data') }, { cwd: dir }), await sharedEngine(), silentLog);
    library = parts.library;
  });
  after(async () => {
    await parts?.close();
    await (await sharedEngine()).close();
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a clear portrait THEN it is taken with no advice', async () => {
    assert.deepEqual(kinds(await enroll('Anna', await photo(ANNA, 0))), []);
  });

  it('GIVEN a blurred photo THEN it is taken, and the reply says it is blurred', async () => {
    const result = await enroll(
      'Anna',
      await sharp(await photo(ANNA, 1))
        .blur(3)
        .jpeg()
        .toBuffer(),
    );
    assert.ok(kinds(result).includes('blurred'), JSON.stringify(result));
    assert.equal((result as Extract<EnrollResult, { kind: 'enrolled' }>).samples, 2, 'the sample is taken all the same');
    const reply = enrollReply(result, { name: 'Anna', me: false }, {} as never);
    assert.match(reply, /The face is blurred; a sharper photo of Anna would match better\./);
  });

  it('GIVEN the same sharp photo THEN it is not called blurred (the check tells the two apart)', async () => {
    assert.ok(!kinds(await enroll('Anna', await photo(ANNA, 2))).includes('blurred'));
  });

  it('GIVEN a small face in a bigger photo THEN the reply says it is small', async () => {
    const face = await sharp(await photo(ANNA, 3))
      .resize(90)
      .toBuffer();
    const small = await sharp({ create: { width: 480, height: 360, channels: 3, background: { r: 120, g: 130, b: 140 } } })
      .composite([{ input: face, left: 190, top: 130 }])
      .jpeg({ quality: 95 })
      .toBuffer();
    const result = await enroll('Anna', small);
    assert.ok(kinds(result).includes('small'), JSON.stringify(result));
  });

  it("GIVEN someone else's photo under Dora's name THEN the reply says it matches none of her samples", async () => {
    await enroll('Dora', await photo(DORA, 0));
    assert.deepEqual(kinds(await enroll('Dora', await photo(DORA, 1))), []);
    assert.deepEqual(kinds(await enroll('Dora', await photo(STRANGER, 0))), ['unlike-own']);
  });

  it('GIVEN Ben enrolled WHEN a photo of Ben is added to Cleo THEN the reply names Ben as the look-alike', async () => {
    await enroll('Ben', await photo(BEN, 1));
    await enroll('Cleo', await photo(CLEO, 0));
    const result = await enroll('Cleo', await photo(BEN, 2));
    assert.ok(
      (result as Extract<EnrollResult, { kind: 'enrolled' }>).advice.some((a) => a.kind === 'like-other' && a.name === 'Ben'),
      JSON.stringify(result),
    );
    assert.match(enrollReply(result, { name: 'Cleo', me: false }, {} as never), /looks as much like Ben as like Cleo/);
  });

  it('GIVEN a known folder with a blurred photo WHEN facefile archive runs THEN the summary lists it as used but improvable', async () => {
    const known = path.join(dir, 'known', 'Anna');
    await mkdir(known, { recursive: true });
    await mkdir(path.join(dir, 'photos'));
    await writeFile(path.join(known, 'clear.jpg'), await photo(ANNA, 4));
    await writeFile(
      path.join(known, 'soft.jpg'),
      await sharp(await photo(ANNA, 5))
        .blur(3)
        .jpeg()
        .toBuffer(),
    );
    await writeFile(path.join(dir, 'photos', 'post.jpg'), await photo(ANNA, 6));
    const result = await runCli(['archive', '--input', path.join(dir, 'photos'), '--known', path.join(dir, 'known'), '-o', path.join(dir, 'out')], dir, {});
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /known photos used that a better photo would improve:\n {4}.*soft\.jpg: The face is blurred/, result.stdout);
    assert.doesNotMatch(result.stdout, /clear\.jpg: The face is blurred/);
    assert.deepEqual(await readdir(path.join(dir, 'out', 'Anna')), ['post.jpg'], 'both photos still serve as samples');
  });

  it('GIVEN the faces of the known photos cached, with or without their sharpness WHEN facefile archive runs again THEN the advice is the same, and the cache is completed', async () => {
    const cache = new Database(path.join(dir, 'data', 'library.sqlite'));
    const entries = () => cache.prepare('SELECT hash, faces FROM face_cache').all() as { hash: string; faces: string }[];
    const measured = () => entries().filter((e) => (JSON.parse(e.faces) as { sharpness?: number }[]).some((f) => f.sharpness !== undefined)).length;
    const again = async (out: string) => {
      const result = await runCli(['archive', '--input', path.join(dir, 'photos'), '--known', path.join(dir, 'known'), '-o', path.join(dir, out)], dir, {});
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /known photos used that a better photo would improve:\n {4}.*soft\.jpg: The face is blurred/, result.stdout);
      assert.doesNotMatch(result.stdout, /clear\.jpg: The face is blurred/);
    };
    try {
      assert.equal(measured(), 2, 'the two known photos carry their sharpness; the posted one does not');
      await again('out-cached');
      // As an entry written before faces carried their sharpness (or for a photo first seen as a post).
      for (const { hash, faces } of entries()) {
        const bare = (JSON.parse(faces) as { sharpness?: number }[]).map(({ sharpness: _, ...face }) => face);
        cache.prepare('UPDATE face_cache SET faces = ? WHERE hash = ?').run(JSON.stringify(bare), hash);
      }
      assert.equal(measured(), 0);
      await again('out-older-cache');
      assert.equal(measured(), 2, 'the entries are completed, so the next run decodes nothing again');
    } finally {
      cache.close();
    }
  });
});
