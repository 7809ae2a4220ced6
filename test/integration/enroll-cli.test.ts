import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLibrary } from '../../src/app/index.ts';
import { silentLog } from '../../src/core/index.ts';
import type { PhotoLibrary } from '../../src/core/library/index.ts';
import { linkKnownFaces, runCli } from '../helpers/cli.ts';
import { NO_DATASETS, POSTS, readLabels } from '../helpers/datasets.ts';
import { sharedEngine } from '../helpers/engine.ts';
import { writeObamaWithCompanions } from '../helpers/two-alike-faces.ts';

const GROUP = 'tg:-100777';

/** `facefile enroll`: a group's people from a known/ folder, through the real CLI and models. */
describe('facefile enroll --group <id> known/', { skip: NO_DATASETS }, () => {
  let dir: string;
  let env: Record<string, string>;
  let known: string;
  let people: string[];
  const withLibrary = async <T>(work: (library: PhotoLibrary) => Promise<T>): Promise<T> => {
    const parts = await createLibrary(loadConfig(env, { cwd: dir }), await sharedEngine(), silentLog);
    try {
      return await work(parts.library);
    } finally {
      await parts.close();
    }
  };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-enroll-'));
    env = { DATA_DIR: path.join(dir, 'data') };
    known = path.join(dir, 'known');
    people = await linkKnownFaces(known);
  });
  after(async () => {
    await (await sharedEngine()).close();
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN a group whose photos were posted before anyone enrolled WHEN its known folder is enrolled THEN everyone is enrolled and their earlier photos are filed', async () => {
    const labels = await readLabels();
    await withLibrary(async (library) => {
      for (const file of Object.keys(labels)) await library.ingest(GROUP, { bytes: await readFile(path.join(POSTS, file)) });
    });

    const result = await runCli(['enroll', known, '--group', GROUP], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    for (const person of people) assert.match(result.stdout, new RegExp(`^  ${person}: \\d+ samples? added \\(\\d+ in all\\)`, 'm'), result.stdout);
    assert.match(result.stdout, /^ {2}obama: .*; \d+ earlier photos? filed under them$/m, result.stdout);
    assert.match(result.stdout, new RegExp(`Enrolled ${people.length} people from \\d+ photos`));

    const obamaPosts = Object.entries(labels).filter(([, label]) => label.people.includes('obama')).length;
    const summaries = await withLibrary((library) => library.people(GROUP));
    assert.deepEqual(summaries.map((p) => p.name).sort(), [...people].sort());
    const obama = summaries.find((p) => p.name === 'obama')!;
    const obamaReferences = (await readdir(path.join(known, 'obama'))).length;
    // His posts, and the reference photos, which are the group's photos now too.
    assert.ok(obama.photos >= obamaPosts + obamaReferences - 1, `obama in ${obama.photos} photos; ${obamaPosts} posts show him`);
    for (const person of summaries) assert.ok(person.samples >= 1, `${person.name}: ${person.samples} samples`);
  });

  it('WHEN the same folder is enrolled again THEN nothing is added twice', async () => {
    const before = await withLibrary((library) => library.people(GROUP));
    const result = await runCli(['enroll', known, '--group', GROUP], dir, env);
    assert.equal(result.code, 0, result.stderr);
    for (const person of people) assert.match(result.stdout, new RegExp(`^  ${person}: 0 samples added, \\d+ already`, 'm'), result.stdout);
    assert.deepEqual(await withLibrary((library) => library.people(GROUP)), before);
  });

  it('GIVEN no --group THEN the groups are listed; GIVEN a malformed one THEN exit 2 with one line and no models loaded', async () => {
    const listed = await runCli(['enroll'], dir, env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^  ${GROUP}$`, 'm'));
    for (const group of ['-100777', 'tg:chat', 'dc:']) {
      const refused = await runCli(['enroll', known, '--group', group], dir, env);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^facefile: --group: not a group id: tg:<chat id>/);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.equal(refused.stdout, '');
    }
  });
});

/** Issue 21, item 1, as `facefile enroll` reads a known folder: every photo of two alike faces. */
describe('facefile enroll: a person whose every known photo shows two alike faces', { skip: NO_DATASETS }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facefile-enroll-alike-'));
    await mkdir(path.join(dir, 'known', 'obama'), { recursive: true });
    await writeObamaWithCompanions(path.join(dir, 'known', 'obama'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('GIVEN no photo settles it alone THEN the face the photos share is taken from each, and the companions are not', async () => {
    const env = { DATA_DIR: path.join(dir, 'data') };
    const result = await runCli(['enroll', path.join(dir, 'known'), '--group', GROUP], dir, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ {2}obama: 2 samples added \(2 in all\)/m, result.stdout);
    assert.doesNotMatch(result.stdout, /none clearly/, result.stdout);
    const parts = await createLibrary(loadConfig(env, { cwd: dir }), await sharedEngine(), silentLog);
    try {
      const obama = (await parts.library.people(GROUP)).find((p) => p.name === 'obama');
      assert.equal(obama?.photos, 2, 'both photos filed under him');
      assert.equal((await parts.library.people(GROUP)).length, 1, 'nobody else');
    } finally {
      await parts.close();
    }
  });
});
