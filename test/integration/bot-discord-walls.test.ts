import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { groupId, sha256Hex } from '../../src/core/index.ts';
import { SqlSettingsStore, openLibraryDatabase } from '../../src/storage/sql/index.ts';
import { DATASETS, GROUP, NO_DATASETS, POSTS, readLabels } from '../helpers/datasets.ts';
import { answerTo, runCommand, startDiscord, type DiscordHarness } from '../helpers/discord.ts';
import { originalHash8, readZipBytes } from '../helpers/zip.ts';
import type { DiscordUser, EmulatedGuild } from '../emulators/discord/index.ts';

const STRING = 3;
const BOOLEAN = 5;
const EPHEMERAL = 64;

/**
 * A Discord server is one library, but its channels have walls of their own: a member who cannot
 * see a channel must not get its photos through /album, nor reach it through a form.
 */
describe('Discord: the channels a member cannot see stay closed to them', { skip: NO_DATASETS }, () => {
  let h: DiscordHarness;
  let guild: EmulatedGuild;
  let ada: DiscordUser;
  let bob: DiscordUser;
  let carol: DiscordUser;
  const posted = { general: new Set<string>(), staff: new Set<string>(), thread: new Set<string>() };
  /** Photos of a stranger (Madonna, never enrolled) posted in #staff only. */
  const strangerInStaff = new Set<string>();
  const MADONNA = path.join(DATASETS, 'five-celebs', 'madonna');

  before(async () => {
    h = await startDiscord(
      (e) => {
        ada = e.user('ada');
        bob = e.user('bob');
        carol = e.user('carol');
        guild = e.addGuild({ id: '900', name: 'Club', ownerId: ada.id, channels: [{ name: 'general' }, { name: 'staff' }] });
        e.addMember(guild.id, ada);
        e.addMember(guild.id, bob);
        e.addMember(guild.id, carol);
      },
      { PUBLIC_URL: 'http://127.0.0.1', GALLERY_PORT: '0' },
    );
    const [general, staff] = guild.channels;
    h.emulator.hideChannel(staff!.id, bob.id);
    for (const file of (await readdir(path.join(GROUP, 'obama'))).sort()) {
      const bytes = await readFile(path.join(GROUP, 'obama', file));
      await runCommand(h, { guild: guild.id, channel: general!.id }, ada, 'enroll', [{ name: 'name', type: STRING, value: 'Obama' }], {
        photo: { name: file, bytes, contentType: 'image/jpeg' },
      });
    }
    const labels = await readLabels();
    const obamaPosts = Object.keys(labels)
      .filter((f) => labels[f]!.people.includes('obama'))
      .sort();
    assert.ok(obamaPosts.length >= 2, 'the data set has posts of Obama');
    for (const [i, file] of obamaPosts.entries()) {
      const bytes = await readFile(path.join(POSTS, file));
      const where = i % 2 === 0 ? 'general' : 'staff';
      await h.emulator.postMessage((where === 'general' ? general : staff)!.id, ada, { attachments: [{ name: file, bytes, contentType: 'image/jpeg' }] });
      posted[where].add(sha256Hex(bytes));
    }
    // A private thread under #general that Bob can see but was never added to; Carol was.
    const plans = h.emulator.addThread(general!.id, ada, { name: 'plans', private: true, members: [carol] });
    const inThread = await sharp(await readFile(path.join(POSTS, obamaPosts[0]!)))
      .jpeg({ quality: 80 })
      .toBuffer();
    await h.emulator.postMessage(plans, ada, { attachments: [{ name: 'plans.jpg', bytes: inThread, contentType: 'image/jpeg' }] });
    posted.thread.add(sha256Hex(inThread));
    for (const file of (await readdir(MADONNA)).sort().slice(1, 7)) {
      const bytes = await readFile(path.join(MADONNA, file));
      await h.emulator.postMessage(staff!.id, ada, { attachments: [{ name: file, bytes, contentType: 'image/jpeg' }] });
      strangerInStaff.add(sha256Hex(bytes));
    }
    const elton = (await readdir(path.join(DATASETS, 'five-celebs', 'elton_john'))).sort()[0]!;
    await runCommand(h, { guild: guild.id, channel: staff!.id }, ada, 'enroll', [{ name: 'name', type: STRING, value: 'Elton' }], {
      photo: { name: elton, bytes: await readFile(path.join(DATASETS, 'five-celebs', 'elton_john', elton)), contentType: 'image/jpeg' },
    });
    await h.bots.idle();
  });
  after(() => h.close());

  /** The photos in the album zips, by the originals' hashes (their first 8 digits, which the entry names carry). */
  async function albumHashes(user: DiscordUser): Promise<{ hashes: { has(hash: string): boolean }; texts: string[]; flags: number[] }> {
    const invoked = await h.emulator.invokeCommand(guild.id, guild.channels[0]!.id, user, 'album', [{ name: 'name', type: STRING, value: 'Obama' }]);
    const answer = await answerTo(h, invoked, 'the album');
    const deferral = h.emulator.callbacks.find((c) => c.interactionId === invoked.id && c.type === 5);
    const hashes = new Set<string>();
    for (const message of answer.followUps)
      for (const file of message.files) for (const entry of await readZipBytes(file.bytes)) hashes.add(originalHash8(entry.name));
    return {
      hashes: { has: (hash) => hashes.has(hash.slice(0, 8)) },
      texts: [answer.text, ...answer.followUps.map((f) => f.content ?? '')],
      flags: [deferral?.flags ?? 0, ...answer.followUps.map((f) => f.flags)],
    };
  }

  it('GIVEN Obama photographed in #general and in #staff WHEN Bob, who cannot see #staff, asks for the album THEN he gets #general only, privately, and is told some were left out', async () => {
    const { hashes, texts, flags } = await albumHashes(bob);
    for (const hash of posted.general) assert.ok(hashes.has(hash), 'a #general photo is in his album');
    for (const hash of posted.staff) assert.ok(!hashes.has(hash), 'a #staff photo reached Bob');
    assert.ok(
      texts.some((t) => /posted where you cannot look/.test(t)),
      texts.join('\n'),
    );
    for (const flag of flags) assert.equal(flag & EPHEMERAL, EPHEMERAL, 'an album behind walls goes to the caller alone');
  });

  it('GIVEN the same album WHEN Ada, who sees both channels, asks THEN she gets every photo', async () => {
    const { hashes } = await albumHashes(ada);
    for (const hash of [...posted.general, ...posted.staff, ...posted.thread]) assert.ok(hashes.has(hash));
  });

  it('GIVEN Obama photographed in a private thread of #general WHEN Bob, who sees #general but is not in the thread, asks for the album THEN the thread photo is left out', async () => {
    const { hashes } = await albumHashes(bob);
    assert.ok(posted.thread.size === 1 && !hashes.has([...posted.thread][0]!), 'the private thread photo reached Bob');
    const forCarol = await albumHashes(carol);
    assert.ok(forCarol.hashes.has([...posted.thread][0]!), 'Carol, a member of the thread, gets its photo');
  });

  it('GIVEN Obama with Biden in one #general post and one #staff post WHEN Bob asks for Obama with Biden, as photos THEN only the #general one reaches him; Ada gets both', async () => {
    const general = guild.channels[0]!.id;
    for (const file of (await readdir(path.join(GROUP, 'biden'))).sort())
      await runCommand(h, { guild: guild.id, channel: general }, ada, 'enroll', [{ name: 'name', type: STRING, value: 'Biden' }], {
        photo: { name: file, bytes: await readFile(path.join(GROUP, 'biden', file)), contentType: 'image/jpeg' },
      });
    await h.bots.idle();
    const both = async (file: string) => sha256Hex(await readFile(path.join(POSTS, file)));
    const [inGeneral, inStaff] = [await both('obama_biden_two_people.jpg'), await both('obama_and_biden.jpg')];
    assert.ok(posted.general.has(inGeneral) && posted.staff.has(inStaff), 'the posts of both are on either side of the wall');
    const photosFor = async (user: DiscordUser) => {
      const invoked = await h.emulator.invokeCommand(guild.id, general, user, 'album', [
        { name: 'name', type: STRING, value: 'Obama' },
        { name: 'with', type: STRING, value: 'Biden' },
        { name: 'photos', type: BOOLEAN, value: true },
      ]);
      const answer = await answerTo(h, invoked, 'the album of both');
      const files = answer.followUps.flatMap((f) => f.files);
      assert.deepEqual(
        files.filter((f) => f.name.endsWith('.zip')),
        [],
        'as photos, not zips',
      );
      return { hashes: new Set(files.map((f) => sha256Hex(f.bytes))), texts: [answer.text, ...answer.followUps.map((f) => f.content ?? '')].join('\n') };
    };
    const forBob = await photosFor(bob);
    assert.deepEqual(forBob.hashes, new Set([inGeneral]), forBob.texts);
    assert.match(forBob.texts, /posted where you cannot look/);
    const forAda = await photosFor(ada);
    assert.deepEqual(forAda.hashes, new Set([inGeneral, inStaff]), forAda.texts);
  });

  /** A command's answer, whether its deferral was private, and the unknown-face clusters it saved. */
  async function ask(user: DiscordUser, name: string) {
    const invoked = await h.emulator.invokeCommand(guild.id, guild.channels[0]!.id, user, name);
    const answer = await answerTo(h, invoked, `an answer to /${name}`);
    const deferral = h.emulator.callbacks.find((c) => c.interactionId === invoked.id && c.type === 5);
    const database = await openLibraryDatabase({ dataDir: h.dir });
    try {
      const clusters = (await new SqlSettingsStore(database.db).getClusters(groupId({ platform: 'discord', guildId: guild.id }))) ?? [];
      return {
        text: answer.text,
        private: ((deferral?.flags ?? 0) & EPHEMERAL) === EPHEMERAL,
        clusterPhotos: clusters.flatMap((c) => c.faces.map((f) => f.photoHash)),
      };
    } finally {
      await database.close();
    }
  }

  it('GIVEN a stranger who keeps turning up in #staff WHEN Bob asks /unknown THEN none of those faces is shown to him, and the answer is his alone; Ada is shown them', async () => {
    const forBob = await ask(bob, 'unknown');
    const forAda = await ask(ada, 'unknown');

    assert.ok(
      forAda.clusterPhotos.some((hash) => strangerInStaff.has(hash)),
      `the stranger is a cluster for Ada: ${forAda.text}`,
    );
    assert.deepEqual(
      forBob.clusterPhotos.filter((hash) => strangerInStaff.has(hash) || posted.staff.has(hash)),
      [],
      "a face from #staff was on Bob's sheet",
    );
    assert.equal(forBob.private, true, 'a view behind walls goes to the caller alone');
  });

  it('GIVEN Elton enrolled in #staff only WHEN Bob asks /people THEN Elton is not listed, Obama counts only the photos Bob can see, and the answer is his alone', async () => {
    const forBob = await ask(bob, 'people');
    const forAda = await ask(ada, 'people');
    const obamaPhotos = (text: string) => Number(/Obama: (\d+)/.exec(text)?.[1]);

    assert.match(forAda.text, /Elton/);
    assert.doesNotMatch(forBob.text, /Elton/, 'someone seen only in #staff was named to Bob');
    assert.match(forBob.text, /Obama/);
    assert.ok(obamaPhotos(forBob.text) < obamaPhotos(forAda.text), `${forBob.text} / ${forAda.text}`);
    assert.equal(forBob.private, true);
  });

  it('GIVEN a form that claims a channel Bob cannot see THEN its photo is not read', async () => {
    const e = h.emulator;
    const [general, staff] = guild.channels;
    const secret = await e.postMessage(staff!.id, ada, {
      attachments: [
        { name: 'secret.jpg', bytes: await readFile(path.join(GROUP, 'obama', (await readdir(path.join(GROUP, 'obama')))[0]!)), contentType: 'image/jpeg' },
      ],
    });
    await h.bots.idle();
    const invoked = e.submitModal(guild.id, general!.id, bob, `enroll:${staff!.id}:${secret.id}`, { name: 'Mallory' });
    const answer = await e.waitFor(() => e.followUps.find((f) => f.interactionId === invoked.id && f.kind === 'editOriginal'), 60_000, 'an answer to the form');
    assert.doesNotMatch(answer.content ?? '', /enrolled/);
    const people = await runCommand(h, { guild: guild.id, channel: general!.id }, ada, 'people');
    assert.doesNotMatch(people.text, /Mallory/, 'nobody was enrolled from the photo behind the wall');
  });

  it('GIVEN a person named @everyone WHEN the bot names them in its answers THEN nobody is pinged (allowed_mentions)', async () => {
    const e = h.emulator;
    const general = guild.channels[0]!.id;
    const folder = path.join(DATASETS, 'five-celebs', 'jerry_seinfeld');
    const file = (await readdir(folder)).sort()[0]!;
    const enroll = await e.invokeCommand(guild.id, general, ada, 'enroll', [{ name: 'name', type: STRING, value: '@everyone' }], {
      photo: { name: file, bytes: await readFile(path.join(folder, file)), contentType: 'image/jpeg' },
    });
    const enrolled = await answerTo(h, enroll, 'an answer to /enroll');
    const people = await e.invokeCommand(guild.id, general, ada, 'people');
    const listed = await answerTo(h, people, 'an answer to /people');

    assert.match(enrolled.text, /@everyone/);
    assert.match(listed.text, /@everyone/);
    const written = e.followUps.filter((f) => f.interactionId === enroll.id || f.interactionId === people.id);
    assert.ok(written.length >= 2);
    for (const message of written) assert.equal(message.message.mention_everyone, false, `pinged everyone: ${message.content}`);
  });

  it("GIVEN /gallery WHEN Bob opens his link THEN the gallery shows what he may see: #staff's photos stay closed, by list, by id and by thumbnail", async () => {
    const general = guild.channels[0]!.id;
    const served = (await readFile(h.logFile, 'utf8')).split('\n').find((line) => line.includes('the gallery is served'));
    const base = `http://127.0.0.1:${(JSON.parse(served!) as { port: number }).port}`;
    const open = async (user: DiscordUser) => {
      const answer = await runCommand(h, { guild: guild.id, channel: general }, user, 'gallery');
      assert.equal(answer.flags & EPHEMERAL, EPHEMERAL, 'a link for one member is answered to them alone');
      const link = /#link=([A-Za-z0-9_.-]+)/.exec(answer.text)?.[1];
      assert.ok(link, answer.text);
      const session = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ link }) });
      assert.equal(session.status, 200);
      const token = ((await session.json()) as { token: string }).token;
      const headers = { authorization: `Bearer ${token}` };
      return { link, headers, get: (url: string) => fetch(`${base}${url}`, { headers }) };
    };
    const forBob = await open(bob);
    const people = (await (await forBob.get('/api/people')).json()) as { people: { id: string; name: string; cover?: string }[] };
    const obama = people.people.find((p) => p.name === 'Obama')!;
    assert.ok(obama.cover !== undefined && [...posted.general].includes(obama.cover), "Obama's cover, for Bob, is a photo he may see");
    assert.ok(!people.people.some((p) => p.name === 'Elton'), 'Elton, enrolled in #staff, is not shown to Bob');
    const seen = (await (await forBob.get(`/api/photos?people=${obama.id}&limit=60`)).json()) as { photos: { hash: string }[]; total: number };
    const hashes = new Set(seen.photos.map((p) => p.hash));
    for (const hash of posted.general) assert.ok(hashes.has(hash), 'a #general photo is in his gallery');
    for (const hash of [...posted.staff, ...posted.thread]) {
      assert.ok(!hashes.has(hash), 'a photo behind a wall is in his gallery');
      for (const url of [`/api/photo?hash=${hash}`, `/api/thumb?hash=${hash}`, `/api/large?hash=${hash}`, `/api/original?hash=${hash}`])
        assert.equal((await forBob.get(url)).status, 404, url);
    }
    // The same page as a zip: his photos only, none from behind a wall.
    const ticket = (await (await fetch(`${base}/api/download?people=${obama.id}`, { method: 'POST', headers: forBob.headers })).json()) as {
      url: string;
    };
    const zipped = new Set((await readZipBytes(Buffer.from(await (await fetch(`${base}${ticket.url}`)).arrayBuffer()))).map((e) => originalHash8(e.name)));
    assert.deepEqual(zipped, new Set([...hashes].map((hash) => hash.slice(0, 8))), "Bob's zip is his page");
    for (const hash of [...posted.staff, ...posted.thread]) assert.ok(!zipped.has(hash.slice(0, 8)), 'a photo behind a wall is in his zip');
    const forAda = await open(ada);
    const all = (await (await forAda.get(`/api/photos?people=${obama.id}&limit=60`)).json()) as { photos: { hash: string }[] };
    const adaSees = new Set(all.photos.map((p) => p.hash));
    const forAdaPeople = (await (await forAda.get('/api/people')).json()) as { people: { name: string; cover?: string }[] };
    assert.equal(forAdaPeople.people.find((p) => p.name === 'Obama')?.cover, all.photos[0]?.hash, "a cover is the first photo of the person's page");
    for (const hash of [...posted.general, ...posted.staff]) assert.ok(adaSees.has(hash), 'Ada sees both channels');
    // A link is not a session, nor is it Telegram launch data.
    assert.equal((await fetch(`${base}/api/people`, { headers: { authorization: `Bearer ${forBob.link}` } })).status, 401);
    assert.equal(
      (
        await fetch(`${base}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ initData: 'user=1&hash=00' }),
        })
      ).status,
      400,
    );
  });
});
