import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import pino from 'pino';
import { PathError } from '../../src/core/index.ts';
import { SharpImageDecoder, SharpRenderer } from '../../src/imaging/index.ts';
import {
  Thumbnails,
  UiSession,
  runDistributions,
  startUiServer,
  type ArchiveFolders,
  type ArchiveRunner,
  type RunResult,
  type UiServer,
} from '../../src/web/index.ts';
import { nudged } from '../helpers/synthetic-faces.ts';

const embedding = nudged;

const box = { x: 8, y: 8, width: 32, height: 32 };
const face = (e: Float32Array) => ({ box, score: 0.99, eyeDistance: 20, embedding: e });

/** Stands in for the archive job: files photos by fixed faces, no models. */
class FakeRunner implements ArchiveRunner {
  readonly defaultThreshold = 0.9;
  runs: { folders: ArchiveFolders; threshold: number }[] = [];

  fail: Error | undefined;

  run(folders: ArchiveFolders, threshold: number): Promise<RunResult> {
    this.runs.push({ folders, threshold });
    if (this.fail) return Promise.reject(this.fail);
    const p = (name: string) => path.join(folders.photos, name);
    return Promise.resolve({
      threshold,
      margin: 0.02,
      known: [{ name: 'Anna', samples: 1, problems: [] }],
      gallery: [{ id: 'Anna', name: 'Anna', samples: [embedding(0)] }],
      // similarity of embedding(0, 1, 0.3) to Anna's sample is about 0.92: named at 0.9, not at 0.95.
      photos: [
        {
          file: p('anna.jpg'),
          hash: '1111111111111111111111111111111111111111111111111111111111111111',
          people: ['Anna'],
          folders: ['Anna'],
          faces: [face(embedding(0))],
        },
        {
          file: p('maybe-anna.jpg'),
          hash: '2222222222222222222222222222222222222222222222222222222222222222',
          people: ['Anna'],
          folders: ['Anna'],
          faces: [face(embedding(0, 1, 0.3))],
        },
        {
          file: p('stranger-1.jpg'),
          hash: '3333333333333333333333333333333333333333333333333333333333333333',
          people: [],
          folders: ['_unknown'],
          faces: [face(embedding(3))],
        },
        {
          file: p('stranger-2.jpg'),
          hash: '4444444444444444444444444444444444444444444444444444444444444444',
          people: [],
          folders: ['_unknown'],
          faces: [face(embedding(3))],
        },
      ],
      errors: [],
      zips: [],
      elapsedMs: 5,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

describe('facefile ui server', () => {
  let work: string;
  let root: string;
  let server: UiServer;
  let runner: FakeRunner;
  const folders = () => ({ photos: path.join(root, 'photos'), known: path.join(root, 'known'), output: path.join(root, 'output') });

  /** A raw request, so that Host, Origin and odd paths go out exactly as written. */
  function call(target: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const body = init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body));
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: target,
          method: init.method ?? 'GET',
          headers: { host: `127.0.0.1:${server.port}`, ...(body ? { 'content-type': 'application/json' } : {}), ...init.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  const state = async () => JSON.parse((await call(withToken('/api/state'))).body.toString()) as { status: string; error?: string; runs: number };
  const waitUntil = async (condition: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 100 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 20));
  };
  const withToken = (target: string): string => `${target}${target.includes('?') ? '&' : '?'}token=${server.token}`;
  const post = (target: string, body: unknown, headers: Record<string, string> = {}) =>
    call(withToken(target), { method: 'POST', body, headers: { 'x-facefile-token': server.token, ...headers } });

  before(async () => {
    work = await realpath(await mkdtemp(path.join(os.tmpdir(), 'facefile-ui-')));
    root = path.join(work, 'root');
    const secret = path.join(work, 'secret');
    await mkdir(secret, { recursive: true });
    for (const dir of [...Object.values(folders()), path.join(root, 'known', 'Anna')]) await mkdir(dir, { recursive: true });
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c08040' } })
      .jpeg()
      .toBuffer();
    for (const name of ['anna.jpg', 'maybe-anna.jpg', 'stranger-1.jpg', 'stranger-2.jpg']) await writeFile(path.join(root, 'photos', name), jpeg);
    // Anna's face (the fixed box, top left) in a wide photo: red around her, blue in the middle.
    await sharp({ create: { width: 400, height: 100, channels: 3, background: '#2040e0' } })
      .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: '#e02020' } }, left: 0, top: 0 }])
      .jpeg()
      .toFile(path.join(root, 'photos', 'anna.jpg'));
    await writeFile(path.join(secret, 'secret.jpg'), jpeg);
    await symlink(path.join(secret, 'secret.jpg'), path.join(root, 'photos', 'link-out.jpg'));
    await symlink(secret, path.join(root, 'photos', 'dir-out'));

    runner = new FakeRunner();
    const log = pino({ level: 'silent' });
    const thumbnails = new Thumbnails(new SharpImageDecoder(), 100_000_000);
    const session = new UiSession({ runner, renderer: new SharpRenderer(), thumbnails, roots: [root], minClusterPhotos: 2, log });
    server = await startUiServer({ session, thumbnails, log });
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  describe('GIVEN a request without the right token', () => {
    for (const target of ['/', '/app.js', '/api/state', '/api/browse', '/api/events']) {
      it(`THEN ${target} with no token is refused with 403`, async () => {
        assert.equal((await call(target)).status, 403);
      });
    }

    it('THEN a wrong token, a token of another length, and an empty one are refused with 403', async () => {
      const wrong = server.token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
      for (const token of [wrong, 'short', '', `${server.token}x`]) {
        assert.equal((await call(`/api/state?token=${encodeURIComponent(token)}`)).status, 403, token);
        assert.equal((await call('/api/state', { headers: { cookie: `facefile_ui_${server.port}=${token}` } })).status, 403, token);
      }
    });

    it('THEN another Host (DNS rebinding) is refused even with the token', async () => {
      for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1:1']) {
        assert.equal((await call(withToken('/api/state'), { headers: { host } })).status, 403, host);
      }
    });
  });

  describe('GIVEN the token', () => {
    it('THEN the page loads, sets the token cookie, and the cookie alone is then enough', async () => {
      const page = await call(withToken('/'));
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /<title>facefile<\/title>/);
      const cookie = String(page.headers['set-cookie']);
      assert.match(cookie, new RegExp(`^facefile_ui_${server.port}=.*HttpOnly.*SameSite=Strict`));
      assert.equal((await call('/style.css', { headers: { cookie: cookie.split(';')[0]! } })).status, 200);
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    });

    it('THEN the server answers to the names 127.0.0.1 and localhost', async () => {
      for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`]) {
        assert.equal((await call(withToken('/api/state'), { headers: { host } })).status, 200, host);
      }
    });

    it('THEN a POST without the token header, or from another origin, is refused', async () => {
      assert.equal((await call(withToken('/api/run'), { method: 'POST', body: {} })).status, 403);
      assert.equal((await post('/api/run', {}, { origin: 'http://evil.example' })).status, 403);
      assert.equal((await call(withToken('/api/state'), { method: 'PUT' })).status, 405);
    });

    it('THEN folders outside the allowed roots cannot be chosen or listed', async () => {
      const outside = { ...folders(), photos: path.join(work, 'secret') };
      assert.equal((await post('/api/folders', { ...outside, zips: false })).status, 403);
      assert.equal((await post('/api/folders', { ...folders(), known: `${root}/../secret`, zips: false })).status, 403);
      assert.equal((await post('/api/folders', { ...folders(), output: path.join(root, 'photos', 'dir-out'), zips: false })).status, 403);
      for (const target of ['/etc', '/', work, `${root}/..`, path.join(root, 'photos', 'dir-out'), 'photos']) {
        const answer = await call(withToken(`/api/browse?path=${encodeURIComponent(target)}`));
        assert.equal(answer.status, 403, `${target}: ${answer.body.toString()}`);
      }
      assert.equal((await call(withToken(`/api/browse?path=${path.join(root, '%2e%2e')}`))).status, 403);
      assert.equal((await post('/api/mkdir', { parent: root, name: '../escaped' })).status, 403);
      assert.deepEqual(await readdir(work), ['root', 'secret']);
    });

    it('THEN the folder browser lists the sub-folders of an allowed root', async () => {
      const answer = await call(withToken(`/api/browse?path=${encodeURIComponent(root)}`));
      assert.equal(answer.status, 200);
      const listing = JSON.parse(answer.body.toString()) as { folders: { name: string }[]; parent?: string };
      assert.deepEqual(
        listing.folders.map((f) => f.name),
        ['known', 'output', 'photos'],
      );
      assert.equal(listing.parent, undefined);
    });
  });

  describe('GIVEN the address the browser is opened with (issue 20, finding 12b)', () => {
    it('THEN it carries no token, trades its code once for the cookie and goes to /, and a second use is refused', async () => {
      const once = server.openOnce();
      assert.match(once, /^http:\/\/127\.0\.0\.1:\d+\/\?code=[\w-]+$/);
      assert.ok(!once.includes(server.token), "the token is not on the opener's command line");
      const target = new URL(once).pathname + new URL(once).search;
      const first = await call(target);
      assert.equal(first.status, 303);
      assert.equal(first.headers.location, '/');
      const cookie = String(first.headers['set-cookie']).split(';')[0]!;
      assert.equal(cookie, `facefile_ui_${server.port}=${server.token}`);
      assert.equal((await call('/api/state', { headers: { cookie } })).status, 200);
      assert.equal((await call(target)).status, 403, 'a code opens the page once');
      assert.equal((await call('/?code=made-up')).status, 403);
    });

    it('THEN two servers on two ports name their cookies apart: a browser holds both sessions, neither replaces the other', async () => {
      const log = pino({ level: 'silent' });
      const thumbnails = new Thumbnails(new SharpImageDecoder(), 100_000_000);
      const other = await startUiServer({
        session: new UiSession({ runner, renderer: new SharpRenderer(), thumbnails, roots: [root], minClusterPhotos: 2, log }),
        thumbnails,
        log,
      });
      try {
        const cookies = `facefile_ui_${server.port}=${server.token}; facefile_ui_${other.port}=${other.token}`;
        assert.equal((await call('/api/state', { headers: { cookie: cookies } })).status, 200);
        const answer = await fetch(`http://127.0.0.1:${other.port}/api/state`, { headers: { cookie: cookies } });
        assert.equal(answer.status, 200);
        assert.equal(((await answer.json()) as { token: string }).token, other.token);
      } finally {
        await other.close();
      }
    });
  });

  describe('GIVEN the chosen folders and a finished run', () => {
    before(async () => {
      assert.equal((await post('/api/folders', { ...folders(), zips: false })).status, 200);
      assert.equal((await post('/api/run', {})).status, 202);
      await waitUntil(async () => (await state()).runs > 0);
    });

    it('THEN a photo inside the photos folder is served as a small thumbnail', async () => {
      const answer = await call(withToken('/api/thumb?in=photos&path=anna.jpg'));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'image/jpeg');
      const meta = await sharp(answer.body).metadata();
      assert.ok(meta.width <= 200);
    });

    it("THEN in a person's grid the thumbnail is centred on their face, not on the middle of the photo", async () => {
      const redness = async (target: string) => {
        const answer = await call(withToken(target));
        assert.equal(answer.status, 200, target);
        const { channels } = await sharp(answer.body).stats();
        return channels[0]!.mean - channels[2]!.mean;
      };
      assert.ok((await redness('/api/thumb?in=photos&path=anna.jpg&for=Anna')) > 100, "Anna's corner");
      assert.ok((await redness('/api/thumb?in=photos&path=anna.jpg')) < -100, 'the middle');
      assert.ok((await redness('/api/thumb?in=photos&path=anna.jpg&for=Nobody')) < -100, 'nobody of that name in it: the middle');
    });

    it('THEN traversal out of a chosen folder is refused: .., encoded .., absolute paths, links out', async () => {
      const attempts = [
        '/api/thumb?in=photos&path=../../secret/secret.jpg',
        '/api/thumb?in=photos&path=..%2F..%2Fsecret%2Fsecret.jpg',
        '/api/thumb?in=photos&path=%2e%2e/%2e%2e/secret/secret.jpg',
        '/api/photo?in=photos&path=%2E%2E%2F%2E%2E%2Fsecret%2Fsecret.jpg',
        `/api/photo?in=photos&path=${encodeURIComponent(path.join(work, 'secret', 'secret.jpg'))}`,
        '/api/photo?in=photos&path=%2Fetc%2Fpasswd',
        '/api/photo?in=photos&path=link-out.jpg',
        '/api/thumb?in=photos&path=dir-out/secret.jpg',
        '/api/photo?in=photos&path=..\\..\\secret\\secret.jpg',
        '/api/photo?in=photos&path=anna.jpg%00.txt',
        '/api/zip?path=../../photos/anna.jpg',
        '/api/zip?path=%2Fetc%2Fpasswd',
      ];
      for (const target of attempts) {
        const answer = await call(withToken(target));
        assert.ok(answer.status === 403 || answer.status === 400, `${target} answered ${answer.status}`);
        assert.notEqual(answer.headers['content-type'], 'image/jpeg', target);
      }
      const dots = await call(withToken('/api/../../secret/secret.jpg'));
      assert.equal(dots.status, 404);
    });

    it('THEN the threshold preview counts the photos that would move, from the cached faces', async () => {
      const same = JSON.parse((await call(withToken('/api/preview?threshold=0.9'))).body.toString()) as { photosMoved: number };
      const higher = JSON.parse((await call(withToken('/api/preview?threshold=0.95'))).body.toString()) as {
        photosMoved: number;
        perFolder: Record<string, number>;
      };
      assert.equal(same.photosMoved, 0);
      assert.equal(higher.photosMoved, 1);
      assert.deepEqual(higher.perFolder, { Anna: 1, _unknown: 3 });
      const plot = await call(withToken('/api/plot.png?threshold=0.95'));
      assert.equal(plot.headers['content-type'], 'image/png');
      assert.equal(runner.runs.length, 1);
    });

    it('THEN naming the unknown cluster adds its photo to known/<Name>/ and sorts again', async () => {
      const results = JSON.parse((await call(withToken('/api/results'))).body.toString()) as { clusters: { id: number; photos: number }[] };
      assert.deepEqual(
        results.clusters.map((c) => c.photos),
        [2],
      );
      const named = await post('/api/name', { cluster: results.clusters[0]!.id, name: '  Ben  Smith ' });
      assert.equal(named.status, 202, named.body.toString());
      assert.deepEqual(await readdir(path.join(root, 'known', 'Ben Smith')), ['stranger-1.jpg', 'stranger-2.jpg']);
      assert.equal(runner.runs.length, 2);
    });

    it('THEN a name already known asks first and adds to them only when confirmed; a name that reads like a known one is refused', async () => {
      await waitUntil(async () => (await state()).status === 'idle');
      const results = JSON.parse((await call(withToken('/api/results'))).body.toString()) as { clusters: { id: number }[] };
      const cluster = results.clusters[0]!.id;
      const known = async () => (await readdir(path.join(root, 'known'))).sort();
      const before = { folders: await known(), runs: runner.runs.length };

      const asked = await post('/api/name', { cluster, name: 'anna' });
      assert.equal(asked.status, 409, asked.body.toString());
      const question = JSON.parse(asked.body.toString()) as { error: string; exists: string };
      assert.equal(question.exists, 'Anna');
      assert.match(question.error, /Anna is known already/);
      const lookalike = await post('/api/name', { cluster, name: '\u0410nna' });
      assert.equal(lookalike.status, 400, lookalike.body.toString());
      assert.match((JSON.parse(lookalike.body.toString()) as { error: string }).error, /reads like Anna/);
      assert.deepEqual(await known(), before.folders, 'no folder made');
      assert.equal(runner.runs.length, before.runs, 'no run started');

      const merged = await post('/api/name', { cluster, name: 'anna', merge: true });
      assert.equal(merged.status, 202, merged.body.toString());
      assert.equal((JSON.parse(merged.body.toString()) as { name: string }).name, 'Anna');
      assert.deepEqual(await known(), before.folders, "added to Anna's folder, not a new one");
      assert.ok((await readdir(path.join(root, 'known', 'Anna'))).includes('stranger-1.jpg'));
      await waitUntil(() => Promise.resolve(runner.runs.length === before.runs + 1));
    });

    it('THEN an opened photo shows its faces named with their scores, large, and a near miss is asked about after a stricter run', async () => {
      await waitUntil(async () => (await state()).status === 'idle');
      const view = await call(withToken('/api/view?path=maybe-anna.jpg'));
      assert.equal(view.status, 200, view.body.toString());
      const shown = JSON.parse(view.body.toString()) as { width: number; faces: { box: unknown; person?: string; score?: number }[]; people: string[] };
      assert.equal(shown.width, 64);
      const [first] = shown.faces;
      assert.equal(first?.person, 'Anna');
      assert.ok(Math.abs((first.score ?? 0) - 0.92) < 0.01, String(first.score));
      assert.ok(shown.people.includes('Anna'));
      const large = await call(withToken('/api/large?path=anna.jpg'));
      assert.equal(large.headers['content-type'], 'image/jpeg');
      assert.equal((await sharp(large.body).metadata()).width, 400);

      // At 0.95 the face at 0.92 is no longer Anna's, but close enough to ask.
      assert.equal((await post('/api/run', { threshold: 0.95 })).status, 202);
      await waitUntil(async () => (await state()).status === 'idle' && runner.runs.at(-1)?.threshold === 0.95);
      const asked = JSON.parse((await call(withToken('/api/suggestions'))).body.toString()) as { file: string; face: number; person: string }[];
      assert.deepEqual(
        asked.map((s) => [s.file, s.face, s.person]),
        [['maybe-anna.jpg', 0, 'Anna']],
      );
      const crop = await call(withToken('/api/face?path=maybe-anna.jpg&face=0'));
      assert.equal(crop.headers['content-type'], 'image/jpeg');
    });

    it('WHEN a face is said not to be someone THEN it is kept in the known folder and the photos are sorted again; a stale or forged correction is refused', async () => {
      await waitUntil(async () => (await state()).status === 'idle');
      const runs = runner.runs.length;
      const corrections = path.join(root, 'known', '.facefile-corrections.json');
      // Not the person the face is filed under or asked about: the page was stale, or the request forged.
      const stale = await post('/api/notthis', { path: 'maybe-anna.jpg', face: 0, person: 'Ben Smith' });
      assert.equal(stale.status, 409, stale.body.toString());
      assert.equal((await post('/api/notthis', { path: 'maybe-anna.jpg', face: 3, person: 'Anna' })).status, 409);
      for (const target of ['../secret/secret.jpg', '../../secret/secret.jpg', path.join(work, 'secret', 'secret.jpg'), 'link-out.jpg']) {
        const answer = await post('/api/notthis', { path: target, face: 0, person: 'Anna' });
        assert.ok(answer.status === 403 || answer.status === 404, `${target}: ${answer.status}`);
      }
      assert.equal((await post('/api/notthis', { path: 'maybe-anna.jpg', face: 0, person: 'Anna' }, { 'x-facefile-token': 'forged' })).status, 403);
      assert.equal(runner.runs.length, runs, 'nothing sorted again');
      await assert.rejects(readFile(corrections));

      const no = await post('/api/notthis', { path: 'maybe-anna.jpg', face: 0, person: 'Anna' });
      assert.equal(no.status, 202, no.body.toString());
      const kept = JSON.parse(await readFile(corrections, 'utf8')) as { notThis: { hash: string; person: string }[] };
      assert.deepEqual(kept.notThis, [{ hash: '2'.repeat(64), box, person: 'Anna' }]);
      assert.equal(runner.runs.length, runs + 1);
    });

    it('WHEN a face is added to a person ("Yes", "Move to", "Who is this?") THEN a crop of it becomes their sample, with the same name rules as naming', async () => {
      await waitUntil(async () => (await state()).status === 'idle');
      const asked = await post('/api/addface', { path: 'stranger-1.jpg', face: 0, name: 'ANNA' });
      assert.equal(asked.status, 409);
      assert.equal((JSON.parse(asked.body.toString()) as { exists: string }).exists, 'Anna');
      assert.equal((await post('/api/addface', { path: 'stranger-1.jpg', face: 0, name: '\u0410nna' })).status, 400);
      const yes = await post('/api/addface', { path: 'maybe-anna.jpg', face: 0, name: 'Anna', merge: true });
      assert.equal(yes.status, 202, yes.body.toString());
      assert.ok((await readdir(path.join(root, 'known', 'Anna'))).includes('maybe-anna (face 1).jpg'));
      // Said to be Anna after "not Anna": the latest word counts.
      const kept = JSON.parse(await readFile(path.join(root, 'known', '.facefile-corrections.json'), 'utf8')) as { notThis: unknown[] };
      assert.deepEqual(kept.notThis, []);
    });

    it('WHEN a run fails THEN the state says why, in words, and the last results stay', async () => {
      await waitUntil(async () => (await state()).status === 'idle');
      runner.fail = new PathError(path.join(root, 'output'), 'unwritable');
      assert.equal((await post('/api/run', {})).status, 202);
      await waitUntil(async () => (await state()).status === 'failed');
      assert.match((await state()).error ?? '', /output: cannot be written/);
      assert.notEqual(JSON.parse((await call(withToken('/api/results'))).body.toString()), null);
      runner.fail = undefined;
    });
  });
});

describe("the page's threshold plot", () => {
  it('GIVEN a run THEN its labelled pairs come from the known photos alone, and every face of the photos is drawn by its best match, those under the threshold too', async () => {
    const result = await new FakeRunner().run({ photos: '/p', known: '/k', output: '/o' }, 0.95);
    const { same, different, closest } = runDistributions(result);
    assert.deepEqual([same, different], [[], []], 'one known person with one photo: no pair to label');
    assert.equal(closest.length, 4);
    assert.ok(
      closest.some((score) => score < 0.95 && score > 0.9),
      `the near miss (about 0.92) is shown: ${closest.map((c) => c.toFixed(3)).join(', ')}`,
    );
  });
});

describe('a face sample cut from a group photo', () => {
  const thumbnails = new Thumbnails(new SharpImageDecoder(), 100_000_000);
  let file: string;
  before(async () => {
    file = path.join(await mkdtemp(path.join(os.tmpdir(), 'facefile-ui-crop-')), 'group.jpg');
    await sharp({ create: { width: 400, height: 200, channels: 3, background: '#808080' } })
      .jpeg()
      .toFile(file);
  });
  after(async () => {
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  it('GIVEN another face far away THEN the crop keeps room around the face', async () => {
    const face = { x: 40, y: 60, width: 60, height: 60 };
    const crop = await thumbnails.faceSample(file, face, [face, { x: 320, y: 60, width: 60, height: 60 }]);
    assert.ok(crop);
    assert.equal((await sharp(crop).metadata()).width, 148, 'the face, 0.8 of its size each side, clipped at the left edge');
  });

  it('GIVEN another face close by THEN the crop shrinks until it shows no other face, or is not made', async () => {
    const face = { x: 100, y: 60, width: 60, height: 60 };
    const near = await thumbnails.faceSample(file, face, [face, { x: 185, y: 60, width: 60, height: 60 }]);
    assert.ok(near);
    assert.ok((await sharp(near).metadata()).width < 100);
    assert.equal(await thumbnails.faceSample(file, face, [face, { x: 150, y: 60, width: 60, height: 60 }]), undefined);
  });
});

describe('facefile ui opening the browser', () => {
  it('GIVEN a desktop opener THEN it is started with a one-time address, never the token, which only the printed address carries', async (t) => {
    const work = await realpath(await mkdtemp(path.join(os.tmpdir(), 'facefile-ui-open-')));
    t.after(() => rm(work, { recursive: true, force: true }));
    const bin = path.join(work, 'bin');
    await mkdir(bin);
    // Stands in for xdg-open: writes the command line it was given.
    await writeFile(
      path.join(bin, 'xdg-open'),
      `#!/bin/sh\necho "$@" > "${path.join(work, 'opened.txt')}.partial" && mv "${path.join(work, 'opened.txt')}.partial" "${path.join(work, 'opened.txt')}"\n`,
      {
        mode: 0o755,
      },
    );
    const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', '..', 'bin', 'facefile.js'), 'ui'], {
      cwd: work,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: work, WORKERS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    let opened: string | undefined;
    for (let i = 0; i < 600 && opened === undefined; i++) {
      opened = await readFile(path.join(work, 'opened.txt'), 'utf8').catch(() => undefined);
      if (opened === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const token = /\?token=([\w-]+)/.exec(out)?.[1];
    assert.ok(token, out);
    assert.match(opened ?? '', /^http:\/\/127\.0\.0\.1:\d+\/\?code=[\w-]+\n$/);
    assert.ok(!opened!.includes(token), "the opener's command line does not carry the token");
    child.kill('SIGTERM');
  });
});
