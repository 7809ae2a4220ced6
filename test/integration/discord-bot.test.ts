import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../../src/core/index.ts';
import { SharpImageDecoder } from '../../src/imaging/index.ts';
import { BAD_IMAGES, GROUP, LFW, NO_DATASETS, POSTS, type PostLabel } from '../helpers/datasets.ts';
import { parsePairs } from '../../src/eval/verification.ts';
import { runCommand, startDiscord, type DiscordHarness } from '../helpers/discord.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startBots } from '../../src/start-bots.ts';
import { readZip } from '../helpers/zip.ts';
import { Permission, type AttachmentInput, type DiscordUser, type EmulatedGuild } from '../emulators/discord/index.ts';

const FAMILY = '1100000000000000001';
const CLUB = '1100000000000000002';
const BAD = '1100000000000000003';
const BURST = '1100000000000000004';
const UPLOAD_LIMIT = 1_500_000;

const STRING = 3;
const INTEGER = 4;
const BOOLEAN = 5;
const NUMBER = 10;

async function lfwImages(): Promise<string[]> {
  return [...new Set(parsePairs(await readFile(path.join(LFW, 'pairsDevTest.txt'), 'utf8')).flatMap((p) => [p.a, p.b]))];
}

function attachment(file: string, bytes: Buffer, contentType?: string): AttachmentInput {
  return { name: path.basename(file), bytes, contentType: contentType ?? (file.endsWith('.png') ? 'image/png' : 'image/jpeg') };
}

describe('Discord bot, end to end with discord.js and a local Discord server', { skip: NO_DATASETS }, () => {
  let h: DiscordHarness;
  let labels: Record<string, PostLabel>;
  let anna: DiscordUser;
  let ben: DiscordUser;
  const guilds = new Map<string, EmulatedGuild>();
  const at = (guild: string) => ({ guild, channel: guilds.get(guild)!.channels[0]!.id });

  /** Posts messages with attachments and waits until every attachment has its own summary reply. */
  async function postAndWait(guild: string, messages: readonly AttachmentInput[][]): Promise<Map<string, string[]>> {
    const e = h.emulator;
    const ids: string[] = [];
    for (const files of messages) ids.push((await e.postMessage(at(guild).channel, anna, { attachments: files })).id);
    const total = messages.reduce((sum, files) => sum + files.length, 0);
    const wanted = new Set(ids);
    await e.waitFor(() => e.messages.filter((m) => m.replyTo !== undefined && wanted.has(m.replyTo)).length >= total, 120_000, `${total} photo replies`);
    await h.bots.idle();
    const replies = new Map<string, string[]>(ids.map((id) => [id, []]));
    for (const m of e.messages) if (m.replyTo !== undefined && wanted.has(m.replyTo)) replies.get(m.replyTo)!.push(m.content);
    return replies;
  }

  before(async () => {
    h = await startDiscord(
      (e) => {
        anna = e.user('anna');
        ben = e.user('ben');
        for (const [id, name] of [[FAMILY, 'Family'], [CLUB, 'Club'], [BAD, 'Bad'], [BURST, 'Burst']] as const) {
          guilds.set(id, e.addGuild({ id, name, ownerId: anna.id }));
          e.addMember(id, anna);
          e.addMember(id, ben);
        }
      },
      {},
      { attachmentSizeLimit: UPLOAD_LIMIT },
    );
    await h.emulator.waitFor(() => [...guilds.keys()].every((id) => (h.emulator.commands.get(id)?.length ?? 0) >= 12), 10_000, 'commands registered');
    labels = Object.fromEntries(
      Object.entries(JSON.parse(await readFile(path.join(POSTS, 'labels.json'), 'utf8')) as Record<string, PostLabel>).filter(([k]) => !k.startsWith('_')),
    );
  });
  after(async () => {
    await h.close();
    assert.deepEqual(h.emulator.faults, []);
  });

  it('THEN the slash and context-menu commands are registered per server, admin ones hidden from members', () => {
    const commands = h.emulator.commands.get(FAMILY) ?? [];
    const names = commands.map((c) => c.name);
    for (const name of ['enroll', 'album', 'people', 'unknown', 'name', 'stats', 'help', 'threshold', 'settings', 'forget', 'Enroll a face from this photo', 'Not this person']) {
      assert.ok(names.includes(name), name);
    }
    for (const name of ['threshold', 'settings', 'forget']) assert.equal(commands.find((c) => c.name === name)?.default_member_permissions, String(Permission.ManageGuild), name);
    assert.equal(commands.find((c) => c.name === 'people')?.default_member_permissions ?? null, null);
  });

  describe('GIVEN the references enrolled with /enroll and every post posted as message attachments', () => {
    const postHashes = new Map<string, string>();
    before(async () => {
      for (const person of (await readdir(GROUP)).filter((n) => !n.startsWith('_')).sort()) {
        for (const file of (await readdir(path.join(GROUP, person))).sort()) {
          const answer = await runCommand(h, at(FAMILY), anna, 'enroll', [{ name: 'name', type: STRING, value: person }], {
            photo: attachment(file, await readFile(path.join(GROUP, person, file))),
          });
          assert.match(answer.text, /is enrolled|Added another photo/, `${person}/${file}: ${answer.text}`);
        }
      }
      // One photo in the default quiet mode: a reaction, no message.
      const quiet = await h.emulator.postMessage(at(FAMILY).channel, anna, { attachments: [attachment('obama1.jpg', await readFile(path.join(POSTS, 'obama1.jpg')))] });
      await h.emulator.waitFor(() => h.emulator.reactions.some((r) => r.messageId === quiet.id && r.emoji === '👍'), 60_000, 'a 👍');
      assert.ok(!h.emulator.messages.some((m) => m.replyTo === quiet.id));
      assert.match((await runCommand(h, at(FAMILY), anna, 'settings', [{ name: 'mode', type: STRING, value: 'summary' }])).text, /reply to each photo/);
      // Up to three attachments per message.
      const files = Object.keys(labels);
      const messages: AttachmentInput[][] = [];
      for (let i = 0; i < files.length; i += 3) {
        messages.push(await Promise.all(files.slice(i, i + 3).map(async (file) => attachment(file, await readFile(path.join(POSTS, file))))));
      }
      for (const file of files) postHashes.set(file, sha256Hex(await readFile(path.join(POSTS, file))));
      const replies = await postAndWait(FAMILY, messages);
      assert.ok([...replies.values()].every((texts) => texts.every((t) => /Filed under|I don't know|No faces|already|too small/.test(t))));
    });

    it('THEN /people lists every enrolled reference', async () => {
      const people = (await runCommand(h, at(FAMILY), ben, 'people')).text;
      for (const person of ['obama', 'sheldon', 'leonard', 'penny']) assert.match(people, new RegExp(`${person}: \\d+ photo`));
    });

    it('THEN /album follow-ups carry zips under the upload limit that unzip to exactly the posts labels.json gives each person', async () => {
      const everyone = new Set(Object.values(labels).flatMap((l) => l.people));
      for (const person of [...everyone].sort()) {
        const answer = await runCommand(h, at(FAMILY), ben, 'album', [{ name: 'name', type: STRING, value: person }]);
        const zips = answer.followUps.flatMap((f) => f.files).filter((f) => f.name.endsWith('.zip'));
        assert.ok(zips.length >= 1, `${person}: no zip (${answer.text})`);
        const hashes = new Set<string>();
        for (const [i, zip] of zips.entries()) {
          assert.ok(zip.bytes.length <= UPLOAD_LIMIT, `${zip.name}: ${zip.bytes.length} bytes`);
          const file = path.join(h.dir, `received-${person}-${i}.zip`);
          await writeFile(file, zip.bytes);
          for (const entry of await readZip(file)) hashes.add(sha256Hex(entry.bytes));
        }
        for (const [file, hash] of postHashes) assert.equal(hashes.has(hash), labels[file]!.people.includes(person), `${file} in ${person}'s zips`);
        if (person === 'obama') assert.ok(zips.length >= 2, 'a large album comes in several parts');
      }
    });

    it('THEN the admin-only commands are refused for a member without Manage Server, and work for the owner', async () => {
      for (const [name, options] of [
        ['threshold', [{ name: 'value', type: NUMBER, value: 0.9 }]],
        ['settings', [{ name: 'mode', type: STRING, value: 'quiet' }]],
        ['forget', [{ name: 'name', type: STRING, value: 'obama' }]],
      ] as const) {
        const answer = await runCommand(h, at(FAMILY), ben, name, options);
        assert.match(answer.text, /Only the group's admins/, name);
        assert.equal(answer.flags & 64, 64, `${name}: ephemeral`);
      }
      assert.match((await runCommand(h, at(FAMILY), anna, 'threshold')).text, /0\.930/);
      const report = await runCommand(h, at(FAMILY), anna, 'threshold', [{ name: 'report', type: BOOLEAN, value: true }]);
      assert.equal(report.files[0]?.name, 'threshold.png');
      assert.match((await runCommand(h, at(FAMILY), ben, 'people')).text, /obama/);
      assert.match((await runCommand(h, at(FAMILY), ben, 'forget', [{ name: 'name', type: STRING, value: 'me' }])).text, /aren't enrolled/);
    });

    it('THEN another server never sees these people', async () => {
      assert.match((await runCommand(h, at(CLUB), ben, 'people')).text, /Nobody is enrolled/);
      assert.match((await runCommand(h, at(CLUB), ben, 'album', [{ name: 'name', type: STRING, value: 'obama' }])).text, /Nobody is enrolled/);
      assert.match((await runCommand(h, at(CLUB), ben, 'stats')).text, /Photos: 0/);
    });

    it('THEN /stats, /unknown, /name and /help answer', async () => {
      assert.match((await runCommand(h, at(FAMILY), ben, 'stats')).text, /Photos: \d+/);
      assert.match((await runCommand(h, at(FAMILY), ben, 'unknown')).text, /turn(ing|ed) up/);
      assert.match((await runCommand(h, at(FAMILY), ben, 'name', [{ name: 'cluster', type: INTEGER, value: 99 }, { name: 'name', type: STRING, value: 'x' }])).text, /run \/unknown/);
      assert.match((await runCommand(h, at(FAMILY), ben, 'help')).text, /Message Content/);
    });

    it('WHEN the "Not this person" context menu is used THEN a modal asks for the name', async () => {
      const e = h.emulator;
      const posted = e.messages.find((m) => m.replyTo !== undefined);
      const target = posted?.replyTo;
      assert.ok(target);
      const invoked = e.invokeMessageCommand(FAMILY, at(FAMILY).channel, ben, 'Not this person', target);
      await e.waitFor(() => e.callbacks.find((c) => c.interactionId === invoked.id), 10_000, 'the modal');
      assert.equal(e.callbacks.find((c) => c.interactionId === invoked.id)?.type, 9);
    });
  });

  it('GIVEN bad images posted as attachments THEN each undecodable one gets its own error reply', async () => {
    assert.match((await runCommand(h, at(BAD), anna, 'settings', [{ name: 'mode', type: STRING, value: 'summary' }])).text, /reply to each photo/);
    const manifest = (await readFile(path.join(BAD_IMAGES, 'MANIFEST.tsv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split('\t'));
    const picked = manifest.filter(([, bytes, , outcome]) => Number(bytes) > 0 && outcome!.startsWith('reject')).slice(0, 12);
    const files = await Promise.all(picked.map(async ([file]) => ({ file: file!, bytes: await readFile(path.join(BAD_IMAGES, file!)) })));
    const replies = await postAndWait(BAD, files.map((f) => [attachment(f.file, f.bytes, 'image/jpeg')]));
    const decoder = new SharpImageDecoder();
    let errors = 0;
    for (const [i, texts] of [...replies.values()].entries()) {
      const f = files[i]!;
      assert.equal(texts.length, 1, f.file);
      if ((await decoder.decode(f.bytes)).ok) continue;
      errors++;
      assert.match(texts[0]!, new RegExp(`^${path.basename(f.file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: I can't read this photo: .+\\.$`), f.file);
    }
    assert.ok(errors >= 6, `${errors} error replies`);
  });

  it('GIVEN a burst of 300 distinct photos in 30 messages THEN every one is filed and answered', { timeout: 300_000 }, async () => {
    assert.match((await runCommand(h, at(BURST), anna, 'settings', [{ name: 'mode', type: STRING, value: 'summary' }])).text, /reply to each photo/);
    const images = (await lfwImages()).slice(0, 300);
    const messages: AttachmentInput[][] = [];
    for (let i = 0; i < images.length; i += 10) {
      messages.push(await Promise.all(images.slice(i, i + 10).map(async (file) => attachment(file, await readFile(path.join(LFW, file))))));
    }
    const replies = await postAndWait(BURST, messages);
    const texts = [...replies.values()].flat();
    assert.equal(texts.length, 300);
    assert.equal(texts.filter((t) => /already|can't read/.test(t)).length, 0, 'each photo filed once, none refused');
    assert.match((await runCommand(h, at(BURST), anna, 'stats')).text, /Photos: 300\n/);
  });

  it('THEN the token never reaches the log, and the log says the bot started', async () => {
    const log = await readFile(h.logFile, 'utf8');
    assert.ok(!log.includes(h.emulator.token));
    assert.match(log, /Discord bot started/);
  });
});

describe('Discord bot, restarted in the middle of a burst', { skip: NO_DATASETS }, () => {
  it('GIVEN a stop while photos are queued THEN after a restart every photo is filed, once', { timeout: 300_000 }, async () => {
    const GUILD = '1100000000000000009';
    let dora: DiscordUser | undefined;
    let channel = '';
    const first = await startDiscord((e) => {
      dora = e.user('dora');
      channel = e.addGuild({ id: GUILD, name: 'Restart', ownerId: dora.id }).channels[0]!.id;
      e.addMember(GUILD, dora);
    });
    const e = first.emulator;
    const images = (await lfwImages()).slice(300, 380);
    for (let i = 0; i < images.length; i += 10) {
      const files = await Promise.all(images.slice(i, i + 10).map(async (file) => attachment(file, await readFile(path.join(LFW, file)))));
      await e.postMessage(channel, dora!, { attachments: files });
    }
    // Stop while the engine is still busy with the burst: the adapter lets its downloads finish,
    // the queue its running photos, and the rest stays on disk.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await first.bots.stop();
    const left = (await readdir(path.join(first.dir, 'queue'))).filter((f) => f.endsWith('.json')).length;
    assert.ok(left > 0, 'the stop came in the middle of the burst');

    const config = loadConfig({ DATA_DIR: first.dir, DISCORD_TOKEN: e.token, DISCORD_API_ROOT: e.apiRoot, WORKERS: '2', LOG_LEVEL: 'silent' }, { cwd: first.dir });
    const bots = await startBots(config, createLogger('silent'));
    const second = { ...first, bots };
    try {
      await bots.idle();
      assert.deepEqual((await readdir(path.join(first.dir, 'queue'))).filter((f) => !f.startsWith('.')), [], 'the queue is empty');
      assert.match((await runCommand(second, { guild: GUILD, channel }, dora!, 'stats')).text, new RegExp(`Photos: ${new Set(images).size}\\n`));
    } finally {
      await bots.stop();
      await e.close();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});
