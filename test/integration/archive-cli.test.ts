import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { spawn, spawnSync } from 'node:child_process';
import { BAD_IMAGES, KNOWN_MISSES, LFW, NO_DATASETS, POSTS, readLabels, ROOT, shouldBeFiled, type PostLabel } from '../helpers/datasets.ts';
import { until } from '../helpers/until.ts';
import { exists, linkKnownFaces, runCli, tree } from '../helpers/cli.ts';
import { readZip } from '../helpers/zip.ts';

describe('facefile archive', { skip: NO_DATASETS }, () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'facefile-archive-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  describe('GIVEN the group-photos references as known faces and the posts as input', () => {
    let people: string[];
    let labels: Record<string, PostLabel>;
    let first: Awaited<ReturnType<typeof runCli>>;
    const out = () => path.join(work, 'posts', 'archive');

    before(async () => {
      const dir = path.join(work, 'posts');
      people = await linkKnownFaces(path.join(dir, 'known'));
      labels = await readLabels();
      first = await runCli(['archive', '--input', POSTS, '--zip', '--json', 'report.json'], dir);
    });

    it('THEN it succeeds and every post is filed under exactly the people labels.json lists', async () => {
      assert.equal(first.code, 0, first.stderr);
      for (const [file, label] of Object.entries(labels)) {
        for (const person of people) {
          const filed = await exists(path.join(out(), person, file));
          const want = shouldBeFiled(labels, file, person);
          if (want !== undefined) assert.equal(filed, want, `${file} ${filed ? 'is' : 'is not'} in ${person}'s folder`);
        }
        const unknown = await exists(path.join(out(), '_unknown', file));
        assert.equal(unknown, label.people.length === 0, `${file} in _unknown`);
        assert.equal(await exists(path.join(out(), '_no_faces', file)), false, `${file} has faces`);
      }
    });

    it('THEN the filed copies are copies, not the originals, showing the same pixels (names and dates added: archive-xmp)', async () => {
      const original = await stat(path.join(POSTS, 'obama1.jpg'));
      const copy = await stat(path.join(out(), 'obama', 'obama1.jpg'));
      assert.notEqual(copy.ino, original.ino);
      const [a, b] = await Promise.all([path.join(out(), 'obama', 'obama1.jpg'), path.join(POSTS, 'obama1.jpg')].map((f) => sharp(f).raw().toBuffer()));
      assert.ok(a!.equals(b!));
    });

    it('THEN the summary and the JSON report count photos, faces, people, unknown and time', async () => {
      assert.match(first.stdout, /Archived 26 photos in [\d.]+ s \([\d.]+ photos\/s\): \d+ faces/);
      assert.match(first.stdout, /obama\s+11 photos/);
      const report = JSON.parse(await readFile(path.join(work, 'posts', 'report.json'), 'utf8')) as {
        photos: number;
        faces: number;
        perPerson: Record<string, number>;
        unknown: number;
        noFaces: number;
        errors: unknown[];
        threshold: number;
      };
      assert.equal(report.photos, 26);
      assert.equal(report.errors.length, 0);
      assert.equal(report.noFaces, 0);
      assert.equal(report.unknown, Object.values(labels).filter((l) => l.people.length === 0).length);
      const expectedFaces = Object.values(labels).reduce((sum, l) => sum + l.people.length + l.unknownFaces, 0);
      assert.ok(Math.abs(report.faces - expectedFaces) <= 2, `faces ${report.faces}, labelled ${expectedFaces}`);
      for (const person of people) {
        const labelled = Object.values(labels).filter((l) => l.people.includes(person)).length;
        const maybe = Object.entries(KNOWN_MISSES).filter(([, names]) => names.includes(person)).length;
        const filed = report.perPerson[person] ?? 0;
        assert.ok(filed <= labelled && filed >= labelled - maybe, `${person}: ${filed} photos, labelled ${labelled}`);
      }
    });

    it('THEN each person with photos has a stored zip holding exactly their folder', async () => {
      for (const person of people) {
        const folder = (await exists(path.join(out(), person))) ? (await readdir(path.join(out(), person))).sort() : [];
        const zip = path.join(work, 'posts', 'zips', `${person}.zip`);
        if (folder.length === 0) {
          assert.equal(await exists(zip), false, `${person} has no photos and no zip`);
          continue;
        }
        const entries = await readZip(zip);
        assert.deepEqual(entries.map((e) => e.name).sort(), folder, person);
        for (const entry of entries) {
          assert.equal(entry.method, 0, 'stored, not deflated');
          assert.ok(entry.bytes.equals(await readFile(path.join(out(), person, entry.name))), entry.name);
        }
      }
    });

    it('THEN report.html is self-contained: a grid per person of links to the copies, the unknown faces, and each face with its best and runner-up scores', async () => {
      const html = await readFile(path.join(out(), 'report.html'), 'utf8');
      assert.match(first.stdout, /Review them: .*archive\/report\.html/);
      assert.doesNotMatch(html, /<script|<link|https?:/, 'no script, no stylesheet, nothing from the network');
      assert.match(html, /<style>/);
      const links = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => decodeURIComponent(m[1]!));
      assert.ok(links.length > 26, `${links.length} links`);
      for (const link of links) assert.ok(await exists(path.join(out(), link)), `${link} is a file beside the report`);
      for (const person of people) {
        const count = Object.values(labels).filter((l) => l.people.includes(person)).length;
        const sure = Object.keys(labels).filter((file) => shouldBeFiled(labels, file, person) === true).length;
        assert.match(html, new RegExp(`<h2 id="${person}">${person}: (${count}|${sure}) photos?</h2>`), person);
      }
      assert.match(html, /<img src="obama\/obama1\.jpg"/);
      for (const [file, label] of Object.entries(labels))
        if (label.people.length === 0) assert.match(html, new RegExp(`<img src="_unknown/${file.replace('.', '\\.')}"`), file);
      // obama1.jpg: one face, filed under obama, best obama and a runner-up below it.
      const row =
        /<tr><td>[^<]*obama1\.jpg<\/td><td>1<\/td><td><span class="named">obama<\/span><\/td><td>obama (0\.\d{3})<\/td><td>(\w+) (-?\d\.\d{3})<\/td><\/tr>/.exec(
          html,
        );
      assert.ok(row, 'the decision row of obama1.jpg');
      assert.ok(Number(row[1]) >= 0.93 && Number(row[3]) < Number(row[1]), row[0]);
    });

    it('WHEN run again THEN nothing is filed twice and the folders are unchanged', async () => {
      const before = await tree(out());
      const again = await runCli(['archive', '--input', POSTS, '--zip'], path.join(work, 'posts'));
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /0 copies added, 0 removed/);
      assert.deepEqual(await tree(out()), before);
    });
  });

  it('GIVEN a missing input, a file as the known folder, or a file as the output THEN exit 2 with one line naming the path', async () => {
    const dir = path.join(work, 'paths');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a-file'), 'x');
    const cases = [
      [['archive', '--input', path.join(dir, 'nope')], /nope: no such file or folder/],
      [['archive', '--input', POSTS, '--known', path.join(dir, 'a-file')], /a-file: is not a folder/],
      [['archive', '--input', POSTS, '--known', POSTS, '--output', path.join(dir, 'a-file')], /a-file: is not a folder/],
      // Node 20's recursive mkdir used to spin here at 100% CPU forever.
      [['archive', '--input', POSTS, '--known', POSTS, '--output', '/proc/facefile-nope'], /\/proc\/facefile-nope: cannot be written/],
    ] as const;
    for (const [args, message] of cases) {
      const started = Date.now();
      const result = await runCli(args, dir);
      assert.ok(Date.now() - started < 30_000, `${args.join(' ')} took ${Date.now() - started} ms`);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  it('GIVEN an output folder that exists but cannot be written THEN exit 2 with one line before any photo is read, and nothing written', async (t) => {
    const output = path.join(work, 'read-only-output');
    await mkdir(output, { recursive: true });
    const readOnly = await makeReadOnly(output);
    if (!readOnly) return t.skip('cannot make a read-only folder here (root without mount rights)');
    t.after(readOnly.undo);
    const input = path.join(work, 'read-only-input');
    await mkdir(input, { recursive: true });
    for (const name of (await readdir(POSTS)).filter((n) => n.endsWith('.jpg')).slice(0, 6)) await copyFile(path.join(POSTS, name), path.join(input, name));
    const result = await runCli(['archive', '--input', input, '--known', input, '--output', output], work);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /read-only-output: cannot be written/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    // Stopped before the plan was acted on: no "Sorting", no models, no per-photo errors.
    assert.doesNotMatch(result.stdout, /Sorting|Face models|errors/, result.stdout);
    assert.deepEqual(await readdir(output), []);
  });

  it('GIVEN --threshold or MATCH_THRESHOLD off the one scale THEN exit 2 naming the range; --help shows the range and the default', async () => {
    const dir = path.join(work, 'threshold');
    await mkdir(dir, { recursive: true });
    const flag = await runCli(['archive', '--threshold', '0.5'], dir);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /must be a number from 0\.8 to 0\.99/);
    const setting = await runCli(['archive'], dir, { MATCH_THRESHOLD: '-0.5' });
    assert.equal(setting.code, 2, setting.stderr);
    assert.match(setting.stderr, /MATCH_THRESHOLD: from 0\.8 to 0\.99/);
    const help = await runCli(['archive', '--help'], dir);
    assert.match(help.stdout.replace(/\s+/g, ' '), /0\.8 to 0\.99 \(default: MATCH_THRESHOLD, else 0\.93;/);
  });

  it('GIVEN a fresh folder and no arguments THEN the default folders are made and it says what to put where', async () => {
    const dir = path.join(work, 'fresh');
    await mkdir(dir);
    await writeFile(path.join(dir, '.env'), 'TELEGRAM_TOKEN=123:abc\n');
    const result = await runCli(['archive'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: TELEGRAM_TOKEN is not a facefile setting and is ignored; did you mean TELEGRAM_BOT_TOKEN\?/);
    assert.match(result.stdout, /\.\/known/);
    assert.match(result.stdout, /\.\/photos/);
    for (const folder of ['photos', 'known']) assert.ok((await stat(path.join(dir, folder))).isDirectory(), folder);
  });

  it('GIVEN a run under way WHEN Ctrl-C arrives THEN it ends with one line and code 130', async () => {
    const dir = path.join(work, 'interrupted');
    await linkKnownFaces(path.join(dir, 'known'));
    // Thousands of photos: the run cannot end on its own before the signal, however fast the machine.
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'facefile.js'), 'archive', '--input', LFW], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, WORKERS: '2' },
    });
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => {
          resolve(code);
        }),
      );
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      await Promise.race([
        until(() => stdout.includes('Face models ready'), 'the models to load', 120_000),
        exited.then((code) => assert.fail(`exited ${code} before the run began: ${stderr}`)),
      ]);
      assert.match(stdout, /^Sorting [\d,]+ photos by the faces of 13 known people\. Loading the face models…$/m, 'the first line is in plain words');
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.match(stderr, /stopped by Ctrl-C\. Copies made so far are kept; run it again to finish\.\n$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('GIVEN broken files, a photo without faces, two photos of one name and one photo under two names THEN errors are listed, the rest filed, nothing overwritten, the duplicate named', async () => {
    const dir = path.join(work, 'mixed');
    const input = path.join(dir, 'photos');
    await mkdir(path.join(input, 'trip-a'), { recursive: true });
    await mkdir(path.join(input, 'trip-b'), { recursive: true });
    await linkKnownFaces(path.join(dir, 'known'));
    await copyFile(path.join(BAD_IMAGES, 'sharp', 'truncated.png'), path.join(input, 'truncated.png'));
    await copyFile(path.join(BAD_IMAGES, 'synthetic', 'random-bytes.jpg'), path.join(input, 'random.jpg'));
    await sharp({ create: { width: 400, height: 300, channels: 3, background: '#4477aa' } })
      .jpeg()
      .toFile(path.join(input, 'sky.jpg'));
    await copyFile(path.join(POSTS, 'obama1.jpg'), path.join(input, 'trip-a', 'IMG_0001.jpg'));
    await copyFile(path.join(POSTS, 'obama3.jpg'), path.join(input, 'trip-b', 'IMG_0001.jpg'));
    // The same bytes under a second name: filed once, under the first name, and both names said.
    await copyFile(path.join(POSTS, 'obama1.jpg'), path.join(input, 'zz-same.jpg'));

    const result = await runCli(['archive'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /random\.jpg: not an image format facefile can read/);
    assert.ok(await exists(path.join(dir, 'archive', '_no_faces', 'sky.jpg')));
    assert.deepEqual((await readdir(path.join(dir, 'archive', 'obama'))).sort(), ['IMG_0001 (2).jpg', 'IMG_0001.jpg']);
    const html = await readFile(path.join(dir, 'archive', 'report.html'), 'utf8');
    assert.match(html, /<li class="err">[^<]*random\.jpg: not an image format facefile can read<\/li>/);
    assert.match(html, /<img src="obama\/IMG_0001%20\(2\)\.jpg"/);
    assert.match(html, /<img src="_no_faces\/sky\.jpg"/);
    assert.match(
      result.stdout,
      /duplicates +1 photo with the same bytes as another, filed once:\n +\.\/photos\/trip-a\/IMG_0001\.jpg = \.\/photos\/zz-same\.jpg\n/,
    );
    assert.match(result.stdout, /Archived 6 photos .*, 3 copies added/);
    assert.match(html, /<li>[^<]*trip-a\/IMG_0001\.jpg = [^<]*zz-same\.jpg<\/li>/);
  });
});

/**
 * Makes `folder` refuse writes the way a read-only mount does. Root ignores permission bits, so as
 * root the folder gets a read-only tmpfs mounted over it; undefined where neither works.
 */
async function makeReadOnly(folder: string): Promise<{ undo: () => Promise<void> } | undefined> {
  const probe = async (): Promise<boolean> => {
    try {
      await writeFile(path.join(folder, '.probe'), 'x');
      await rm(path.join(folder, '.probe'));
      return false;
    } catch {
      return true;
    }
  };
  if (process.getuid?.() !== 0) {
    await chmod(folder, 0o555);
    return { undo: () => chmod(folder, 0o755) };
  }
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', folder]);
  if (mounted.status !== 0 || !(await probe())) return undefined;
  return { undo: () => Promise.resolve(void spawnSync('umount', [folder])) };
}
