import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sign } from '@telegram-apps/init-data-node';
import sharp from 'sharp';
import { sha256Hex } from '../../src/core/index.ts';
import { GROUP, NO_DATASETS, POSTS } from '../helpers/datasets.ts';
import { ARTEFACTS, NO_CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { answerTo, startTelegram, textOf, type TelegramHarness } from '../helpers/telegram.ts';
import type { User } from '@telegraf/types';
import { until } from '../helpers/until.ts';
import { originalHash8, readZip } from '../helpers/zip.ts';
import { NO_EXIV2, readWithExiv2 } from '../helpers/exiv2.ts';

const A = -4001;

interface LoadedImage {
  decode(): Promise<void>;
  readonly naturalWidth: number;
}
const B = -4002;

/**
 * The group gallery opened from Telegram, through the real bot (telegraf against the Bot API
 * emulator, the real models, SQLite): launch data signed as Telegram's client signs it, membership
 * from getChatMember, and what a member of one group can reach of another.
 */
describe('gallery: a Telegram group browses its albums, and nobody else can', { skip: NO_DATASETS }, () => {
  let h: TelegramHarness;
  let base: string;
  let ada: User;
  let bob: User;
  let eve: User;
  const inA = new Map<string, Buffer>();
  let inB: string;

  /** Launch data for `user` opening the gallery of `chat`, signed with `token` (the bot's by default). */
  const launch = (user: User, chat: number, token = h.emulator.token, at = new Date()) =>
    sign({ user: { id: user.id, first_name: user.first_name }, start_param: String(chat) }, token, at);
  const post = (url: string, body: unknown, token?: string) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const get = (url: string, token: string) => fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
  const session = async (user: User, chat: number): Promise<string> => {
    const answer = await post('/api/session', { initData: launch(user, chat) });
    assert.equal(answer.status, 200, await answer.clone().text());
    return ((await answer.json()) as { token: string }).token;
  };

  before(async () => {
    h = await startTelegram({ PUBLIC_URL: 'http://127.0.0.1', GALLERY_PORT: '0', TELEGRAM_GROUP_INTERVAL_MS: '0', REPLY_MODE: 'summary' });
    const e = h.emulator;
    ada = e.user(501, 'Ada');
    bob = e.user(502, 'Bob');
    eve = e.user(503, 'Eve');
    e.addChat({ id: A, type: 'supergroup', title: 'Family' }, { creator: ada });
    e.addChat({ id: B, type: 'supergroup', title: 'Club' }, { creator: eve });
    e.setMemberStatus(A, bob, 'member');
    for (const person of ['obama', 'biden'])
      for (const file of (await readdir(path.join(GROUP, person))).sort())
        await e.waitFor(answerTo(await e.postPhoto(A, ada, await readFile(path.join(GROUP, person, file)), { caption: `/enroll ${person}` })), 120_000);
    for (const file of ['obama1.jpg', 'obama3.jpg', 'obama_and_biden.jpg', 'obama_biden_two_people.jpg']) {
      const bytes = await readFile(path.join(POSTS, file));
      inA.set(file, bytes);
      // Each answered before the next: the pages below are read from what was filed.
      await e.waitFor(answerTo(await e.postPhoto(A, bob, bytes)), 120_000);
    }
    // Two people nobody enrolled, five photos each: faces that keep appearing, to be named.
    for (const stranger of ['penny', 'howard'])
      for (const file of (await readdir(path.join(GROUP, stranger))).sort()) await e.postPhoto(A, bob, await readFile(path.join(GROUP, stranger, file)));
    for (const file of (await readdir(path.join(GROUP, 'kit_harington'))).sort())
      await e.waitFor(answerTo(await e.postPhoto(B, eve, await readFile(path.join(GROUP, 'kit_harington', file)), { caption: '/enroll Kit' })), 120_000);
    const kit = await readFile(path.join(POSTS, 'johnsnow_test1.jpg'));
    inB = sha256Hex(kit);
    await e.waitFor(answerTo(await e.postPhoto(B, eve, kit)), 120_000);
    await h.bots.idle();
    const served = (await readFile(h.logFile, 'utf8')).split('\n').find((line) => line.includes('the gallery is served'));
    assert.ok(served, 'the bot logged where the gallery is served');
    base = `http://127.0.0.1:${(JSON.parse(served) as { port: number }).port}`;
  });
  after(() => h.close());

  it('GIVEN /gallery in a group THEN the answer is the Mini App link naming the group', async () => {
    const answer = textOf(await h.emulator.waitFor(answerTo(h.emulator.postText(A, bob, '/gallery'))));
    const username = ((await (await fetch(`${h.emulator.apiRoot}/bot${h.emulator.token}/getMe`)).json()) as { result: { username: string } }).result.username;
    assert.ok(answer.includes(`https://t.me/${username}/gallery?startapp=${A}`), answer);
  });

  it("GIVEN a member's launch data THEN they see the group's people, a person's photos newest first, thumbnails and originals", async () => {
    const token = await session(bob, A);
    const people = (await (await get('/api/people', token)).json()) as { me: string; people: { id: string; name: string; photos: number; cover?: string }[] };
    assert.equal(people.me, 'Bob');
    assert.deepEqual(people.people.map((p) => p.name).sort(), ['biden', 'obama']);
    const obama = people.people.find((p) => p.name === 'obama')!;
    const biden = people.people.find((p) => p.name === 'biden')!;
    assert.ok(obama.photos >= 3, `obama is on at least 3 of the 4 posts (${obama.photos})`);
    const page = (await (await get(`/api/photos?people=${obama.id}`, token)).json()) as { photos: { hash: string; postedAt: string }[]; total: number };
    assert.equal(page.total, obama.photos);
    const times = page.photos.map((p) => p.postedAt);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    // The posts, and the enrolment photos (posted in the group too).
    const enrolled = await Promise.all(
      ['obama', 'biden'].flatMap(async (person) =>
        Promise.all((await readdir(path.join(GROUP, person))).map(async (f) => sha256Hex(await readFile(path.join(GROUP, person, f))))),
      ),
    );
    const posted = new Set([...[...inA.values()].map(sha256Hex), ...enrolled.flat()]);
    for (const photo of page.photos) assert.ok(posted.has(photo.hash), 'only photos posted in the group');
    // "With": the photos that show both, from one library query.
    const both = (await (await get(`/api/photos?people=${obama.id},${biden.id}`, token)).json()) as { photos: { hash: string }[] };
    assert.deepEqual(
      new Set(both.photos.map((p) => p.hash)),
      new Set(['obama_and_biden.jpg', 'obama_biden_two_people.jpg'].map((f) => sha256Hex(inA.get(f)!))),
    );
    // A year with nothing in it.
    const none = (await (await get(`/api/photos?people=${obama.id}&from=2001-01-01&to=2001-12-31`, token)).json()) as { total: number };
    assert.equal(none.total, 0);

    const hash = both.photos[0]!.hash;
    const thumb = await get(`/api/thumb?hash=${hash}&person=${obama.id}`, token);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 360, 360]);
    const etag = thumb.headers.get('etag')!;
    assert.equal(
      (await fetch(`${base}/api/thumb?hash=${hash}&person=${obama.id}`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } })).status,
      304,
    );
    const original = Buffer.from(await (await get(`/api/original?hash=${hash}`, token)).arrayBuffer());
    assert.equal(sha256Hex(original), hash, 'the original, byte for byte');
    const detail = (await (await get(`/api/photo?hash=${hash}`, token)).json()) as { faces: { person?: { name: string } }[]; width: number };
    assert.deepEqual(detail.faces.flatMap((f) => f.person?.name ?? []).sort(), ['biden', 'obama']);
    assert.ok(detail.width > 0);
  });

  it('GIVEN "with" and a year on a person\'s page WHEN a member downloads it THEN one streamed zip of exactly those photos, each with its names in XMP; the ticket is for that member and that filter', async () => {
    const token = await session(bob, A);
    const people = (await (await get('/api/people', token)).json()) as { people: { id: string; name: string }[] };
    const obama = people.people.find((p) => p.name === 'obama')!;
    const biden = people.people.find((p) => p.name === 'biden')!;
    const year = new Date().getUTCFullYear();
    const filter = `people=${obama.id},${biden.id}&from=${year}-01-01&to=${year}-12-31`;
    const page = (await (await get(`/api/photos?${filter}`, token)).json()) as { photos: { hash: string }[] };
    assert.equal(page.photos.length, 2);
    const asked = await fetch(`${base}/api/download?${filter}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(asked.status, 200);
    const { url } = (await asked.json()) as { url: string };
    const zip = await fetch(`${base}${url}`);
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get('content-type'), 'application/zip');
    assert.match(zip.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="obama \\+ biden, ${year}\\.zip"`));
    const file = path.join(h.dir, 'gallery-download.zip');
    await writeFile(file, Buffer.from(await zip.arrayBuffer()));
    const entries = await readZip(file);
    assert.deepEqual(new Set(entries.map((e) => originalHash8(e.name))), new Set(page.photos.map((p) => p.hash.slice(0, 8))), "the page's photos, no more");
    if (NO_EXIV2) console.log(`skipped the XMP read-back: ${NO_EXIV2}`);
    else
      for (const entry of entries) {
        const copy = path.join(h.dir, `gallery-${entry.name}`);
        await writeFile(copy, entry.bytes);
        assert.deepEqual((await readWithExiv2(copy)).regions.map((r) => r.name).sort(), ['biden', 'obama'], `${entry.name}: both named in its XMP`);
      }
    // The ticket is a link to this filter for this member: not a session, and not another filter.
    const ticket = new URL(url, base).searchParams.get('ticket')!;
    assert.equal((await get('/api/people', ticket)).status, 401);
    const [body, mac] = ticket.split('.');
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), q: `people=${obama.id}` })).toString('base64url');
    assert.equal((await fetch(`${base}/api/zip?ticket=${altered}.${mac}`)).status, 401);
    assert.equal((await fetch(`${base}/api/zip?ticket=${token}`)).status, 401, 'a session token is not a ticket');
    assert.equal((await fetch(`${base}/api/download?${filter}`, { method: 'POST' })).status, 401, 'no ticket without a session');
    // Eve, of group B, has nothing of A's, whatever she asks.
    const eves = await session(eve, B);
    const hers = await fetch(`${base}/api/download?people=${obama.id}`, { method: 'POST', headers: { authorization: `Bearer ${eves}` } });
    const zipOfB = await fetch(`${base}${((await hers.json()) as { url: string }).url}`);
    assert.equal(zipOfB.status, 404);
  });

  it('GIVEN forged, altered, expired or another bot’s launch data THEN no session', async () => {
    const good = launch(bob, A);
    const refused = [
      good.replace(/hash=[0-9a-f]+/, `hash=${'0'.repeat(64)}`),
      good.replace(`start_param=${A}`, `start_param=${B}`),
      launch(bob, A, '999:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ'),
      launch(bob, A, h.emulator.token, new Date(Date.now() - 2 * 86_400_000)),
    ];
    for (const initData of refused) assert.equal((await post('/api/session', { initData })).status, 401, initData.slice(0, 60));
    assert.equal((await post('/api/session', { link: 'x.y' })).status, 401);
    assert.equal((await post('/api/session', {})).status, 400);
  });

  it("GIVEN a member of one group THEN another group's gallery, photos and thumbnails stay closed to them", async () => {
    // Signed correctly, for a group Bob is not in: getChatMember says so.
    assert.equal((await post('/api/session', { initData: launch(bob, B) })).status, 403);
    const token = await session(bob, A);
    for (const url of [`/api/photo?hash=${inB}`, `/api/thumb?hash=${inB}`, `/api/large?hash=${inB}`, `/api/original?hash=${inB}`])
      assert.equal((await get(url, token)).status, 404, url);
    const people = (await (await get('/api/people', token)).json()) as { people: { name: string }[] };
    assert.ok(!people.people.some((p) => p.name === 'Kit'));
  });

  it('GIVEN no session, a bad one, or tampered parameters THEN each is refused before anything is read', async () => {
    assert.equal((await fetch(`${base}/api/people`)).status, 401);
    assert.equal((await get('/api/people', 'not-a-token')).status, 401);
    const token = await session(bob, A);
    for (const url of [
      '/api/photo?hash=../../etc/passwd',
      '/api/thumb?hash=abc',
      `/api/thumb?hash=${inB}&person=../x`,
      '/api/photos?people=',
      '/api/photos?people=a/b',
    ])
      assert.equal((await get(url, token)).status, 400, url);
    for (const day of ['2024-13-45', '2024-02-30', '2024-1-1']) assert.equal((await get(`/api/photos?people=x&from=${day}`, token)).status, 400, day);
    assert.equal((await fetch(`${base}/../../etc/passwd`)).status, 404);
    const page = await fetch(`${base}/`);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self';/);
    assert.doesNotMatch(await page.text(), /<script>/, 'no inline script');
  });

  it('GIVEN a member who left THEN refreshing their session is refused', async () => {
    const carol = h.emulator.user(504, 'Carol');
    h.emulator.setMemberStatus(A, carol, 'member');
    const token = await session(carol, A);
    assert.equal((await post('/api/refresh', undefined, token)).status, 200);
    h.emulator.setMemberStatus(A, carol, 'left');
    assert.equal((await post('/api/refresh', undefined, token)).status, 403);
  });

  it("GIVEN faces nobody enrolled that keep appearing WHEN a member names one in the gallery THEN its photos are filed under the name, with the chat's rules and audit", async () => {
    const token = await session(bob, A);
    interface Cluster {
      id: number;
      photos: number;
      face: { hash: string; index: number };
      faces: { hash: string; index: number }[];
    }
    const unknown = (await (await get('/api/unknown', token)).json()) as { clusters: Cluster[] };
    assert.ok(unknown.clusters.length >= 2, `penny and howard keep appearing (${unknown.clusters.length} clusters)`);
    const pennyHashes = new Set(
      await Promise.all((await readdir(path.join(GROUP, 'penny'))).map(async (f) => sha256Hex(await readFile(path.join(GROUP, 'penny', f))))),
    );
    const penny = unknown.clusters.find((c) => c.faces.every((f) => pennyHashes.has(f.hash)));
    assert.ok(penny && penny.photos >= 3, "one cluster is Penny's photos alone");
    const face = await get(`/api/thumb?hash=${penny.face.hash}&face=${penny.face.index}`, token);
    assert.equal(face.status, 200);
    assert.deepEqual(
      await sharp(Buffer.from(await face.arrayBuffer()))
        .metadata()
        .then((m) => [m.format, m.width]),
      ['webp', 360],
    );
    assert.equal((await get(`/api/thumb?hash=${penny.face.hash}&face=x`, token)).status, 400);
    const name = (body: unknown, as = token) =>
      fetch(`${base}/api/name`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` }, body: JSON.stringify(body) });
    const asked = { cluster: penny.id, hash: penny.face.hash, face: penny.face.index };
    assert.equal((await name({ ...asked, name: '   ' })).status, 400, 'no name');
    assert.equal((await name({ ...asked, face: penny.face.index + 7, name: 'Penny' })).status, 409, 'a face the cluster does not hold: the numbering changed');
    assert.equal((await name({ ...asked, name: 'Penny' }, 'not-a-session')).status, 401);
    assert.equal(
      (await name({ ...asked, name: 'Penny' }, await session(eve, B))).status,
      409,
      "another group's member names nothing here (its clusters are its own)",
    );
    const named = await name({ ...asked, name: 'Penny' });
    assert.equal(named.status, 200, await named.clone().text());
    const result = (await named.json()) as { person: { id: string; name: string }; newPerson: boolean; filed: number };
    assert.equal(result.newPerson, true);
    assert.ok(result.filed >= 3, `her photos are filed (${result.filed})`);
    const page = (await (await get(`/api/photos?people=${result.person.id}`, token)).json()) as { photos: { hash: string }[] };
    for (const photo of page.photos) assert.ok(pennyHashes.has(photo.hash), "only Penny's photos in her album");
    assert.equal((await name({ ...asked, name: 'Penny' })).status, 409, 'naming ends the numbering: the page must look again');
    const audit = textOf(await h.emulator.waitFor(answerTo(h.emulator.postText(A, ada, '/audit'))));
    assert.match(audit, /Bob[^\n]*Penny/, audit);
  });

  it(
    'GIVEN the page WHEN a member names a face that keeps appearing THEN a known name asks first, and the new name opens with its photos',
    { skip: NO_CHROMIUM },
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        await page.goto(`${base}/#tgWebAppData=${encodeURIComponent(launch(bob, A))}&tgWebAppVersion=8.0`);
        await page.locator('#unknown-show').click();
        const cluster = page.locator('#unknown-list button').first();
        await cluster.waitFor({ timeout: 60_000 });
        await cluster.click();
        await page.locator('#cluster-grid img').first().waitFor();
        await page.locator('#name-input').fill('Obama');
        await page.locator('#name-submit').click();
        await page.locator('#name-question', { hasText: 'obama is known already. Are these photos of obama?' }).waitFor({ timeout: 10_000 });
        await page.screenshot({ path: path.join(ARTEFACTS, 'gallery-name-asks.png') });
        await page.locator('#name-no').click();
        await page.locator('#name-input').fill('Howard');
        await page.locator('#name-submit').click();
        await page.locator('#title', { hasText: 'Howard' }).waitFor({ timeout: 60_000 });
        await page.locator('#months .grid button').first().waitFor({ timeout: 60_000 });
        assert.match((await page.locator('#status').textContent()) ?? '', /Howard: \d+ photos filed, a new person/);
        await page.screenshot({ path: path.join(ARTEFACTS, 'gallery-named.png') });
      } finally {
        await browser.close();
      }
    },
  );

  it('GIVEN /forget of a person THEN the previews made of their photos are gone from the data folder', async () => {
    const token = await session(ada, A);
    const people = (await (await get('/api/people', token)).json()) as { people: { id: string; name: string }[] };
    const biden = people.people.find((p) => p.name === 'biden')!;
    const page = (await (await get(`/api/photos?people=${biden.id}`, token)).json()) as { photos: { hash: string }[] };
    for (const photo of page.photos) assert.equal((await get(`/api/thumb?hash=${photo.hash}&person=${biden.id}`, token)).status, 200);
    const previews = async () => {
      const found: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          if (entry.isDirectory()) await (entry.name === 'previews' ? walkAll(path.join(dir, entry.name)) : walk(path.join(dir, entry.name)));
        }
      };
      const walkAll = async (dir: string): Promise<void> => {
        for (const entry of await readdir(dir, { withFileTypes: true })) found.push(path.join(dir, entry.name));
      };
      await walk(h.dir);
      return found;
    };
    assert.ok((await previews()).some((p) => page.photos.some((photo) => p.endsWith(photo.hash))));
    await h.emulator.waitFor(answerTo(h.emulator.postText(A, ada, '/forget biden')));
    await h.bots.idle();
    for (const photo of page.photos) assert.ok(!(await previews()).some((p) => p.endsWith(photo.hash)), `the previews of ${photo.hash.slice(0, 8)}`);
  });

  it('GIVEN a face filed under the wrong person WHEN a member taps "Not …?" THEN the chat\'s rules and audit hold: anyone for an unlinked person, only they or an admin for a linked one', async () => {
    const e = h.emulator;
    const dave = e.user(505, 'Dave');
    e.setMemberStatus(A, dave, 'member');
    // Dave enrolls himself (a linked person), with Kit Harington's photos standing in for his face.
    for (const file of (await readdir(path.join(GROUP, 'kit_harington'))).sort())
      await e.waitFor(answerTo(await e.postPhoto(A, dave, await readFile(path.join(GROUP, 'kit_harington', file)), { caption: '/enroll me' })), 120_000);
    const kit = await readFile(path.join(POSTS, 'johnsnow_test1.jpg'));
    assert.match(textOf(await e.waitFor(answerTo(await e.postPhoto(A, ada, kit)), 120_000)), /Filed under Dave/);
    const notThis = (token: string, hash: string, person: string) =>
      fetch(`${base}/api/notthis`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ hash, person }),
      });
    const forBob = await session(bob, A);
    const people = (await (await get('/api/people', forBob)).json()) as { people: { id: string; name: string }[] };
    const daveId = people.people.find((p) => p.name === 'Dave')!.id;
    const obamaId = people.people.find((p) => p.name === 'obama')!.id;
    const kitHash = sha256Hex(kit);
    assert.equal((await notThis(forBob, kitHash, daveId)).status, 403, "Bob may not take photos out of Dave's album");
    const forAda = await session(ada, A);
    const byAdmin = await notThis(forAda, kitHash, daveId);
    assert.equal(byAdmin.status, 200, 'an admin may');
    assert.deepEqual(((await byAdmin.json()) as { removed: { name: string } }).removed.name, 'Dave');
    // An unlinked person's photo: any member, as with /notthis.
    const obamaPhotos = (await (await get(`/api/photos?people=${obamaId}`, forBob)).json()) as { photos: { hash: string }[]; total: number };
    const wrong = obamaPhotos.photos[obamaPhotos.photos.length - 1]!.hash;
    assert.equal((await notThis(forBob, wrong, obamaId)).status, 200);
    const after = (await (await get(`/api/photos?people=${obamaId}`, forBob)).json()) as { photos: { hash: string }[]; total: number };
    assert.equal(after.total, obamaPhotos.total - 1);
    assert.ok(!after.photos.some((p) => p.hash === wrong), 'out of the album');
    assert.equal((await notThis(forBob, wrong, obamaId)).status, 404, 'the face is no longer named so');
    // Another group's photo, through A's session: not there.
    assert.equal((await notThis(forBob, inB, obamaId)).status, 404);
    // Forged bodies.
    for (const body of [{ hash: '../x', person: obamaId }, { hash: wrong }, 'not json'])
      assert.equal(
        (
          await fetch(`${base}/api/notthis`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${forBob}` },
            body: typeof body === 'string' ? body : JSON.stringify(body),
          })
        ).status,
        400,
      );
    const audit = textOf(await e.waitFor(answerTo(e.postText(A, ada, '/audit'))));
    assert.match(audit, /Bob/, 'the audit log names who took the photo out');
    assert.match(audit, /Ada/);
  });

  it('GIVEN a stricter threshold WHEN a member answers "Is this obama?" THEN yes files the photo under him and no takes it from him for good', async () => {
    const e = h.emulator;
    assert.match(textOf(await e.waitFor(answerTo(e.postText(A, ada, '/threshold 0.99')))), /0\.99/);
    try {
      const token = await session(bob, A);
      const call = (url: string, body: unknown) =>
        fetch(`${base}${url}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
      const obama = ((await (await get('/api/people', token)).json()) as { people: { id: string; name: string }[] }).people.find((p) => p.name === 'obama')!;
      const offered = async () =>
        ((await (await get(`/api/suggestions?person=${obama.id}`, token)).json()) as { suggestions: { hash: string; face: number; similarity: number }[] })
          .suggestions;
      const first = await offered();
      assert.ok(first.length >= 2, `faces of obama between 0.95 and 0.99 are offered (${first.length})`);
      for (const s of first) assert.ok(s.similarity >= 0.95 && s.similarity < 0.99 + 1e-9, String(s.similarity));
      const album = async () =>
        new Set(((await (await get(`/api/photos?people=${obama.id}`, token)).json()) as { photos: { hash: string }[] }).photos.map((p) => p.hash));
      const [yes, no] = first as [(typeof first)[0], (typeof first)[0]];
      assert.ok(!(await album()).has(yes.hash), 'offered: not in his album');
      assert.equal((await call('/api/enroll', { hash: 'f'.repeat(64), face: 0, name: 'obama' })).status, 404, 'a photo the group does not have');
      assert.equal((await call('/api/dismiss', { hash: no.hash, person: 'nobody' })).status, 404);
      const confirmed = await call('/api/enroll', { hash: yes.hash, face: yes.face, name: 'obama' });
      assert.equal(confirmed.status, 200, await confirmed.clone().text());
      assert.ok((await album()).has(yes.hash), 'yes: the photo is in his album');
      assert.equal((await call('/api/dismiss', { hash: no.hash, person: obama.id })).status, 200);
      const after = await offered();
      assert.ok(!after.some((s) => s.hash === yes.hash || s.hash === no.hash), 'neither is offered again');
      assert.match(textOf(await e.waitFor(answerTo(e.postText(A, ada, '/audit')))), /offered as obama is not them/);
    } finally {
      await e.waitFor(answerTo(e.postText(A, ada, '/threshold 0.93')));
    }
    const token = await session(bob, A);
    const obama = ((await (await get('/api/people', token)).json()) as { people: { id: string; name: string }[] }).people.find((p) => p.name === 'obama')!;
    assert.ok(obama, 'obama is still there at the usual threshold');
  });

  it('GIVEN an admin THEN the gallery shows the threshold, what a new value would move, and the audit log; a member gets none of it', async () => {
    const bobs = await session(bob, A);
    const adas = await session(ada, A);
    const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    assert.equal(((await (await get('/api/people', bobs)).json()) as { admin: boolean }).admin, false);
    assert.equal(((await (await get('/api/people', adas)).json()) as { admin: boolean }).admin, true);
    for (const url of ['/api/admin', '/api/threshold?value=0.9']) assert.equal((await get(url, bobs)).status, 403, url);
    assert.equal((await fetch(`${base}/api/threshold`, { method: 'POST', headers: as(bobs), body: JSON.stringify({ value: 0.8 }) })).status, 403);

    const admin = (await (await get('/api/admin', adas)).json()) as { threshold: number; audit: { byName?: string; detail: string }[] };
    assert.equal(admin.threshold, 0.93);
    assert.ok(
      admin.audit.some((e) => e.byName === 'Bob' && /Penny/.test(e.detail)),
      'the naming of Penny is in the log',
    );
    const preview = (await (await get('/api/threshold?value=0.9', adas)).json()) as { proposed: { threshold: number; photosChanged: number }; plot: string };
    assert.equal(preview.proposed.threshold, 0.9);
    assert.ok(preview.proposed.photosChanged >= 0);
    assert.deepEqual([...Buffer.from(preview.plot, 'base64').subarray(1, 4)], [...Buffer.from('PNG')], 'the plot is a PNG');
    assert.equal((await get('/api/threshold?value=2', adas)).status, 400);
    assert.equal((await get('/api/admin', adas)).status, 200, 'a preview changes nothing');
    assert.equal(((await (await get('/api/admin', adas)).json()) as { threshold: number }).threshold, 0.93);

    const set = await fetch(`${base}/api/threshold`, { method: 'POST', headers: as(adas), body: JSON.stringify({ value: 0.92 }) });
    assert.equal(set.status, 200);
    assert.deepEqual(((await set.json()) as { previous: number; threshold: number }).threshold, 0.92);
    assert.match(textOf(await h.emulator.waitFor(answerTo(h.emulator.postText(A, ada, '/threshold')))), /0\.92/);
    assert.match(textOf(await h.emulator.waitFor(answerTo(h.emulator.postText(A, ada, '/audit')))), /Ada[^\n]*0\.930 to 0\.920/);
    await fetch(`${base}/api/threshold`, { method: 'POST', headers: as(adas), body: JSON.stringify({ value: 0.93 }) });
  });

  it("GIVEN the gallery's port taken WHEN another bot starts with it THEN the start fails with one clear line", async () => {
    const port = new URL(base).port;
    await assert.rejects(
      startTelegram({ PUBLIC_URL: 'http://127.0.0.1', GALLERY_PORT: port }),
      (error: Error) => error.name === 'StartupError' && new RegExp(`gallery's port 127.0.0.1:${port} is in use; set GALLERY_PORT`).test(error.message),
    );
  });

  it('GIVEN the log of all this THEN no launch data, session token or bot token is in it', async () => {
    const log = await readFile(h.logFile, 'utf8');
    assert.ok(!log.includes(h.emulator.token.split(':')[1]!), 'bot token');
    assert.doesNotMatch(log, /auth_date|tgWebAppData|Bearer /);
  });

  it(
    'GIVEN the page opened from the launch URL in a browser THEN it shows the people, a grid and a photo with its faces named',
    { skip: NO_CHROMIUM },
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        // Telegram's mobile and desktop clients take the page's calls through TelegramWebviewProxy.
        // (As a string: a function would be sent with the test compiler's helpers, which the page lacks.)
        await page.addInitScript({
          content: 'globalThis.sent = []; globalThis.TelegramWebviewProxy = { postEvent: (type, data) => globalThis.sent.push([type, data]) };',
        });
        const sent = () => page.evaluate(() => (globalThis as unknown as { sent: [string, string][] }).sent);
        const backShown = async () => (await sent()).filter(([type]) => type === 'web_app_setup_back_button').at(-1)?.[1];
        const theme = encodeURIComponent(JSON.stringify({ bg_color: '#101820', text_color: '#f0f0f0', button_color: '#ff6600' }));
        await page.goto(`${base}/#tgWebAppData=${encodeURIComponent(launch(bob, A))}&tgWebAppVersion=8.0&tgWebAppThemeParams=${theme}`);
        await page.locator('#people-list button', { hasText: 'obama' }).waitFor({ timeout: 60_000 });
        assert.equal(page.url(), `${base}/`, 'the launch data is out of the address bar');
        assert.equal(await page.locator('#admin-open').isHidden(), true, 'Bob is no admin');
        assert.match((await page.locator('html').getAttribute('style')) ?? '', /--tg-theme-bg-color: ?#101820/, "Telegram's theme");
        const calls = await sent();
        assert.ok(
          calls.some(([type]) => type === 'web_app_ready'),
          `the client is told the page is ready: ${JSON.stringify(calls)}`,
        );
        assert.equal(await backShown(), JSON.stringify({ is_visible: false }), 'no back button on the first page');
        await page.locator('#people-list button', { hasText: 'obama' }).click();
        await until(async () => (await backShown()) === JSON.stringify({ is_visible: true }), "Telegram's back button shown", 30_000);
        assert.equal(await page.locator('#back').isHidden(), true, 'not a second one drawn on the page');
        const first = page.locator('#months .grid button img').first();
        await first.waitFor();
        await until(
          async () =>
            (await first.evaluate((img: LoadedImage) =>
              img.decode().then(
                () => img.naturalWidth,
                () => 0,
              ),
            )) === 360,
          'the first thumbnail shown',
          60_000,
        );
        assert.ok((await page.locator('#months .grid button').count()) >= 3);
        // The page's photos as one zip, saved by the browser from the link the server gives.
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.locator('#zip').click()]);
        assert.equal(download.suggestedFilename(), 'obama.zip');
        const saved = path.join(h.dir, 'browser-download.zip');
        await download.saveAs(saved);
        assert.equal((await readZip(saved)).length, await page.locator('#months .grid button').count(), 'every photo of the page');
        await first.click();
        await page.locator('#frame .face span', { hasText: 'obama' }).waitFor({ timeout: 60_000 });
        assert.match((await page.locator('#caption').textContent()) ?? '', /obama/);
        assert.equal(await page.locator('#corrections button', { hasText: 'Not obama?' }).count(), 1, 'a named face can be corrected from the photo');
        await page.keyboard.press('ArrowRight');
        await until(() => new URL(page.url()).searchParams.get('photo') === '1', 'the next photo opened', 30_000);
        await page.screenshot({ path: path.join(ARTEFACTS, 'gallery-photo.png') });
        // The client's back button, pressed: as Telegram's client sends it.
        await page.evaluate(() =>
          (globalThis as unknown as { Telegram: { WebView: { receiveEvent(type: string, data: unknown): void } } }).Telegram.WebView.receiveEvent(
            'back_button_pressed',
            null,
          ),
        );
        await until(() => !new URL(page.url()).searchParams.has('photo'), 'back at the grid', 30_000);
      } finally {
        await browser.close();
      }
    },
  );
});
