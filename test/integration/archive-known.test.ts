import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { exists, runCli, type CliResult } from '../helpers/cli.ts';
import { writeObamaWithCompanions } from '../helpers/two-alike-faces.ts';

/** Issue 10, item 4: known folders are checked before the run, and nothing is guessed silently. */
describe('facefile archive checks the known folders', { skip: NO_DATASETS }, () => {
  let dir: string;
  let result: CliResult;
  const sheets = () => path.join(dir, 'archive', '_check_known');

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-known-'));
    const known = path.join(dir, 'known');
    await mkdir(path.join(known, 'Group Shot'), { recursive: true });
    await mkdir(path.join(known, 'Mislabelled'), { recursive: true });
    await mkdir(path.join(known, 'Nobody'), { recursive: true });
    await mkdir(path.join(dir, 'photos'), { recursive: true });
    await symlink(path.join(GROUP, 'obama'), path.join(known, 'obama'));
    await copyFile(path.join(POSTS, 'obama_and_biden.jpg'), path.join(known, 'Group Shot', 'obama_and_biden.jpg'));
    await copyFile(path.join(POSTS, 'obama1.jpg'), path.join(known, 'Mislabelled', 'not-really.jpg'));
    await sharp({ create: { width: 400, height: 300, channels: 3, background: '#4477aa' } })
      .jpeg()
      .toFile(path.join(known, 'Nobody', 'sky.jpg'));
    for (const post of ['obama3.jpg', 'obama-720p.jpg', 'obama_partial_face.jpg']) await copyFile(path.join(POSTS, post), path.join(dir, 'photos', post));
    result = await runCli(['archive'], dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a group photo in its own known folder, none of its faces clearly the biggest THEN it is listed with its face count and a contact sheet, and not used', async () => {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /known\/Group Shot\/obama_and_biden\.jpg: [2-9] faces, none clearly Group Shot's/);
    const sheet = path.join(sheets(), 'Group Shot - obama_and_biden.png');
    assert.match(result.stdout, /its faces: \.\/archive\/_check_known\/Group Shot - obama_and_biden\.png/);
    const meta = await sharp(sheet).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width >= 2 * 160, 'a tile per face');
  });

  it('GIVEN a photo of obama in another known folder THEN it is named as looking like obama, with a sheet, and not used', async () => {
    assert.match(result.stdout, /known\/Mislabelled\/not-really\.jpg: the face looks more like obama \(0\.\d+\) than like Mislabelled/);
    assert.ok(await exists(path.join(sheets(), 'Mislabelled - not-really.png')));
  });

  it('GIVEN a known folder whose photo has no face THEN the photo and the person are named', () => {
    assert.match(result.stdout, /known\/Nobody\/sky\.jpg: no face found/);
    assert.match(result.stdout, /nobody to look for under Group Shot, Mislabelled, Nobody/);
  });

  it("THEN the real person is still found: obama's photos are filed under obama, nothing under the others", async () => {
    assert.deepEqual((await readdir(path.join(dir, 'archive', 'obama'))).sort(), ['obama-720p.jpg', 'obama3.jpg', 'obama_partial_face.jpg']);
    for (const folder of ['Group Shot', 'Mislabelled', 'Nobody']) assert.equal(await exists(path.join(dir, 'archive', folder)), false, folder);
    assert.match(result.stdout, /^ {2}obama +3 photos$/m);
  });

  it('WHEN the group photo is taken out of known/ THEN its contact sheet goes too', async () => {
    await rm(path.join(dir, 'known', 'Group Shot'), { recursive: true });
    const again = await runCli(['archive'], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await exists(path.join(sheets(), 'Group Shot - obama_and_biden.png')), false);
    assert.ok(await exists(path.join(sheets(), 'Mislabelled - not-really.png')));
  });
});

/** A photo `main` with the photo `other` shrunk to `scale` of main's width in its lower right corner. */
async function withSecondFace(main: string, other: string, scale: number): Promise<Buffer> {
  const { width, height } = await sharp(main).metadata();
  const small = await sharp(other)
    .resize({ width: Math.round(width * scale) })
    .toBuffer();
  const { height: smallHeight } = await sharp(small).metadata();
  // Room at the right for the second face, so that neither hides the other.
  return sharp(main)
    .extend({ right: Math.round(width * scale), bottom: Math.max(0, smallHeight - height), background: '#808080' })
    .composite([{ input: small, left: width, top: Math.max(0, height - smallHeight) }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Issue 21, item 1: known photos chosen the way a person would. */
describe('facefile archive picks the face a person would in a known photo of several', { skip: NO_DATASETS }, () => {
  let dir: string;
  let result: CliResult;
  let report: { known: { name: string; samples: number; problems: { file: string; kind: string; sheet?: string }[] }[] };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-likely-'));
    const known = path.join(dir, 'known');
    for (const folder of ['obama', 'biden', 'Pair', 'photos']) await mkdir(path.join(folder === 'photos' ? dir : known, folder), { recursive: true });
    // obama: one photo of him alone, one with biden small beside him (his face agrees with the first).
    await copyFile(path.join(GROUP, 'obama', 'obama.jpg'), path.join(known, 'obama', 'alone.jpg'));
    await sharp(await withSecondFace(path.join(GROUP, 'obama', 'obama2.jpg'), path.join(GROUP, 'biden', 'biden2.jpg'), 0.4)).toFile(
      path.join(known, 'obama', 'with-biden.jpg'),
    );
    // biden: his only photo shows obama small at the edge: the big face is his.
    await sharp(await withSecondFace(path.join(GROUP, 'biden', 'biden2.jpg'), path.join(GROUP, 'obama', 'obama.jpg'), 0.35)).toFile(
      path.join(known, 'biden', 'with-obama.jpg'),
    );
    // Pair: two people side by side at one size, and nothing else to go by.
    await copyFile(path.join(POSTS, 'obama_biden_two_people.jpg'), path.join(known, 'Pair', 'two.jpg'));
    for (const post of ['obama3.jpg', 'obama_and_biden.jpg']) await copyFile(path.join(POSTS, post), path.join(dir, 'photos', post));
    result = await runCli(['archive', '--json', 'report.json'], dir);
    report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as typeof report;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN known photos that show a second, smaller face THEN each person keeps them as samples and their photos are found', async () => {
    assert.equal(result.code, 0, result.stderr);
    const byName = new Map(report.known.map((k) => [k.name, k]));
    assert.equal(byName.get('obama')?.samples, 2, JSON.stringify(byName.get('obama')));
    assert.equal(byName.get('biden')?.samples, 1, JSON.stringify(byName.get('biden')));
    assert.deepEqual((await readdir(path.join(dir, 'archive', 'obama'))).sort(), ['obama3.jpg', 'obama_and_biden.jpg']);
    assert.deepEqual(await readdir(path.join(dir, 'archive', 'biden')), ['obama_and_biden.jpg']);
  });

  it('GIVEN a known photo of two faces alike in size THEN it is still set aside, with its contact sheet', async () => {
    const pair = report.known.find((k) => k.name === 'Pair');
    assert.ok(pair);
    assert.equal(pair.samples, 0);
    assert.deepEqual(
      pair.problems.map((p) => p.kind),
      ['several-faces'],
    );
    const sheet = pair.problems[0]?.sheet;
    assert.ok(sheet !== undefined && (await exists(sheet)), 'the contact sheet');
  });
});

/** Issue 21, item 1: a known folder whose every photo shows two faces alike in size. */
describe('facefile archive takes the face a folder agrees on when no photo settles it alone', { skip: NO_DATASETS }, () => {
  let dir: string;
  let result: CliResult;
  let report: { known: { name: string; samples: number; problems: { file: string; kind: string }[] }[] };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-consensus-'));
    const known = path.join(dir, 'known');
    for (const folder of [path.join(known, 'obama'), path.join(dir, 'photos')]) await mkdir(folder, { recursive: true });
    await writeObamaWithCompanions(path.join(known, 'obama'));
    await copyFile(path.join(POSTS, 'obama3.jpg'), path.join(dir, 'photos', 'obama3.jpg'));
    await copyFile(path.join(POSTS, 'johnsnow_test1.jpg'), path.join(dir, 'photos', 'johnsnow_test1.jpg'));
    result = await runCli(['archive', '--json', 'report.json'], dir);
    report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as typeof report;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN only photos of two alike faces THEN the face that agrees across them is the person, and their photos are found, not the companions’', async () => {
    assert.equal(result.code, 0, result.stderr);
    const obama = report.known.find((k) => k.name === 'obama');
    assert.equal(obama?.samples, 2, JSON.stringify(obama));
    assert.deepEqual(obama.problems, []);
    assert.deepEqual(await readdir(path.join(dir, 'archive', 'obama')), ['obama3.jpg']);
  });
});
