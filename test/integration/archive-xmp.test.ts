import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { sha256Hex } from '../../src/core/index.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { exists, runCli } from '../helpers/cli.ts';
import { NO_EXIV2, readWithExiv2, type ReadMetadata, type ReadRegion } from '../helpers/exiv2.ts';

interface ReportOutcome {
  readonly file: string;
  readonly decisions: readonly { readonly box: { x: number; y: number; width: number; height: number }; readonly verdict: string; readonly person?: string }[];
}

/** The photo's displayed size: what the engine's boxes are measured in (all these photos are under the decoder's 4096). */
async function shownSize(file: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(file).metadata();
  return (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/** The named faces of a report outcome as MWG regions of the displayed picture (normalised, centre-based). */
async function expectedRegions(outcome: ReportOutcome): Promise<ReadRegion[]> {
  const { width, height } = await shownSize(outcome.file);
  return outcome.decisions
    .filter((d) => d.verdict === 'person')
    .map((d) => ({
      name: d.person!,
      type: 'Face',
      x: (d.box.x + d.box.width / 2) / width,
      y: (d.box.y + d.box.height / 2) / height,
      w: d.box.width / width,
      h: d.box.height / height,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function assertRegionsNear(actual: readonly ReadRegion[], expected: readonly ReadRegion[], what: string): void {
  const sorted = [...actual].sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(
    sorted.map((r) => [r.name, r.type]),
    expected.map((r) => [r.name, r.type]),
    `${what}: the named faces`,
  );
  sorted.forEach((region, i) => {
    const want = expected[i]!;
    for (const key of ['x', 'y', 'w', 'h'] as const)
      assert.ok(Math.abs(region[key] - want[key]) <= 0.01, `${what}: ${region.name}'s ${key} is ${region[key]}, the face box says ${want[key].toFixed(4)}`);
  });
}

const MESSAGE_TIME = new Date('2019-06-01T12:34:56Z');

describe('facefile archive: the copies carry their face names and dates as XMP, read back by exiv2', { skip: NO_DATASETS || NO_EXIV2 }, () => {
  let work: string;
  let input: string;
  let known: string;
  const originals = new Map<string, string>();
  let outcomes: Map<string, ReportOutcome>;
  let firstRun: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'facefile-xmp-'));
    input = path.join(work, 'photos');
    known = path.join(work, 'known');
    await mkdir(input, { recursive: true });
    await mkdir(known, { recursive: true });
    for (const person of ['obama', 'biden']) await symlink(path.join(GROUP, person), path.join(known, person));
    // Two known faces and a child nobody knows; no date of its own, so its file time is the date.
    await copyFile(path.join(POSTS, 'obama_and_biden.jpg'), path.join(input, 'pair.jpg'));
    await utimes(path.join(input, 'pair.jpg'), MESSAGE_TIME, MESSAGE_TIME);
    // The same picture stored a quarter turn anticlockwise, with EXIF orientation 6 to show it upright.
    await sharp(path.join(POSTS, 'obama_and_biden.jpg'))
      .rotate(270)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 92 })
      .toFile(path.join(input, 'pair-sideways.jpg'));
    // A photo with a capture date of its own, which the copy keeps.
    await sharp(path.join(POSTS, 'obama1.jpg'))
      .withExif({ IFD2: { DateTimeOriginal: '2015:03:04 05:06:07' } })
      .jpeg({ quality: 92 })
      .toFile(path.join(input, 'dated.jpg'));
    await copyFile(path.join(POSTS, 'obama_32bit_rgba.png'), path.join(input, 'obama.png'));
    // A PNG saved under a .jpg name, as web downloads often are: exiftool will not write into it.
    await sharp(path.join(POSTS, 'obama1.jpg')).png().toFile(path.join(input, 'mislabelled.jpg'));
    for (const name of ['pair.jpg', 'pair-sideways.jpg', 'dated.jpg', 'obama.png', 'mislabelled.jpg'])
      originals.set(name, sha256Hex(await readFile(path.join(input, name))));
    firstRun = await runCli(['archive', '--input', input, '--known', known, '--output', 'out', '--json', 'report.json'], work);
    assert.equal(firstRun.code, 0, firstRun.stderr);
    const report = JSON.parse(await readFile(path.join(work, 'report.json'), 'utf8')) as { outcomes: ReportOutcome[] };
    outcomes = new Map(report.outcomes.map((o) => [path.basename(o.file), o]));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('THEN each copy names exactly its known faces, where the engine found them, and not the stranger', async () => {
    const pair = outcomes.get('pair.jpg')!;
    assert.ok(
      pair.decisions.some((d) => d.verdict !== 'person'),
      'the child in pair.jpg is an unknown face',
    );
    for (const folder of ['obama', 'biden']) {
      const read = await readWithExiv2(path.join(work, 'out', folder, 'pair.jpg'));
      assert.deepEqual(read.appliedTo, { w: 2000, h: 1428 });
      assertRegionsNear(read.regions, await expectedRegions(pair), `${folder}/pair.jpg`);
    }
    const png = await readWithExiv2(path.join(work, 'out', 'obama', 'obama.png'));
    assertRegionsNear(png.regions, await expectedRegions(outcomes.get('obama.png')!), 'obama/obama.png');
  });

  it('THEN a PNG named .jpg keeps its bytes and gets its names in a sidecar, and the run reports no failure', async () => {
    const report = JSON.parse(await readFile(path.join(work, 'report.json'), 'utf8')) as { errors: readonly { file: string }[] };
    assert.deepEqual(report.errors, []);
    const copy = path.join(work, 'out', 'obama', 'mislabelled.jpg');
    assert.equal(sha256Hex(await readFile(copy)), originals.get('mislabelled.jpg'));
    const read = await readWithExiv2(`${copy}.xmp`);
    assertRegionsNear(read.regions, await expectedRegions(outcomes.get('mislabelled.jpg')!), 'obama/mislabelled.jpg.xmp');
  });

  it('THEN a photo stored sideways gets its regions in the stored frame, as MWG readers turn them', async () => {
    const read = await readWithExiv2(path.join(work, 'out', 'obama', 'pair-sideways.jpg'));
    assert.equal(read.keys.get('Exif.Image.Orientation'), '6');
    // Stored 1428 wide and 2000 high; shown 2000 x 1428.
    assert.deepEqual(read.appliedTo, { w: 1428, h: 2000 });
    // Orientation 6 shows stored column x at the top, stored row y at the right: a point (u, v) of
    // the upright picture is (v, 1 - u) of the stored one, and width and height swap.
    const upright = await expectedRegions(outcomes.get('pair-sideways.jpg')!);
    const stored = upright.map((r) => ({ ...r, x: r.y, y: 1 - r.x, w: r.h, h: r.w }));
    assertRegionsNear(read.regions, stored, 'obama/pair-sideways.jpg');
    // And the same faces as in the upright file, turned: the picture is the same.
    const fromUpright = (await expectedRegions(outcomes.get('pair.jpg')!)).map((r) => ({ ...r, x: r.y, y: 1 - r.x, w: r.h, h: r.w }));
    assertRegionsNear(read.regions, fromUpright, 'obama/pair-sideways.jpg against pair.jpg');
  });

  it("THEN a photo without a date gets its original's time as EXIF and XMP capture date; one with a date keeps it", async () => {
    const pair = await readWithExiv2(path.join(work, 'out', 'biden', 'pair.jpg'));
    assert.equal(pair.keys.get('Exif.Photo.DateTimeOriginal'), '2019:06:01 12:34:56');
    assert.equal(pair.keys.get('Exif.Photo.OffsetTimeOriginal'), '+00:00');
    assert.match(pair.keys.get('Xmp.photoshop.DateCreated') ?? '', /^2019-06-01T12:34:56/);
    const dated = await readWithExiv2(path.join(work, 'out', 'obama', 'dated.jpg'));
    assert.equal(dated.keys.get('Exif.Photo.DateTimeOriginal'), '2015:03:04 05:06:07');
    assert.equal(dated.keys.get('Xmp.photoshop.DateCreated'), undefined);
    assert.equal(dated.regions.length, 1);
  });

  it('THEN the originals are unchanged, byte for byte, and the copies are not them', async () => {
    for (const [name, hash] of originals) assert.equal(sha256Hex(await readFile(path.join(input, name))), hash, `${name} was changed`);
    const copy = await readFile(path.join(work, 'out', 'obama', 'pair.jpg'));
    assert.notEqual(sha256Hex(copy), originals.get('pair.jpg'));
    // Only metadata was added: the picture is the same.
    const [a, b] = await Promise.all([sharp(copy).raw().toBuffer(), sharp(path.join(input, 'pair.jpg')).raw().toBuffer()]);
    assert.ok(a.equals(b), 'the copy shows the same pixels');
  });

  it('THEN a second run rewrites nothing: the copies keep their times', async () => {
    const before = (await stat(path.join(work, 'out', 'obama', 'pair.jpg'))).mtimeMs;
    const again = await runCli(['archive', '--input', input, '--known', known, '--output', 'out'], work);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await stat(path.join(work, 'out', 'obama', 'pair.jpg'))).mtimeMs, before);
    assert.equal(await exists(path.join(work, 'out', 'obama', 'pair (2).jpg')), false);
  });

  describe('WHEN run with --xmp sidecar, and with --link', () => {
    let sidecarRun: Awaited<ReturnType<typeof runCli>>;
    let linkRun: Awaited<ReturnType<typeof runCli>>;
    before(async () => {
      sidecarRun = await runCli(['archive', '--input', input, '--known', known, '--output', 'beside', '--xmp', 'sidecar'], work);
      linkRun = await runCli(['archive', '--input', input, '--known', known, '--output', 'linked', '--link'], work);
    });

    it('THEN the copies are the bare originals and <name>.xmp beside each holds the regions and date', async () => {
      assert.equal(sidecarRun.code, 0, sidecarRun.stderr);
      const copy = path.join(work, 'beside', 'obama', 'pair.jpg');
      assert.equal(sha256Hex(await readFile(copy)), originals.get('pair.jpg'));
      const read: ReadMetadata = await readWithExiv2(`${copy}.xmp`);
      assert.deepEqual(read.appliedTo, { w: 2000, h: 1428 });
      assertRegionsNear(read.regions, await expectedRegions(outcomes.get('pair.jpg')!), 'beside/obama/pair.jpg.xmp');
      assert.match(read.keys.get('Xmp.exif.DateTimeOriginal') ?? '', /^2019-06-01T12:34:56/);
    });

    it('THEN hard links are never written into (they are the originals): they get sidecars', async () => {
      assert.equal(linkRun.code, 0, linkRun.stderr);
      const link = path.join(work, 'linked', 'biden', 'pair.jpg');
      assert.equal((await stat(link)).ino, (await stat(path.join(input, 'pair.jpg'))).ino);
      assert.equal(sha256Hex(await readFile(link)), originals.get('pair.jpg'));
      const read = await readWithExiv2(`${link}.xmp`);
      assert.deepEqual(read.regions.map((r) => r.name).sort(), ['biden', 'obama']);
    });
  });
});
