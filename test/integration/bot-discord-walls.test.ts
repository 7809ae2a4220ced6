import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../../src/core/index.ts';
import { GROUP, NO_DATASETS, POSTS, readLabels } from '../helpers/datasets.ts';
import { answerTo, runCommand, startDiscord, type DiscordHarness } from '../helpers/discord.ts';
import { readZipBytes } from '../helpers/zip.ts';
import type { DiscordUser, EmulatedGuild } from '../emulators/discord/index.ts';

const STRING = 3;
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
  const posted = { general: new Set<string>(), staff: new Set<string>() };

  before(async () => {
    h = await startDiscord((e) => {
      ada = e.user('ada');
      bob = e.user('bob');
      guild = e.addGuild({ id: '900', name: 'Club', ownerId: ada.id, channels: [{ name: 'general' }, { name: 'staff' }] });
      e.addMember(guild.id, ada);
      e.addMember(guild.id, bob);
    });
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
    await h.bots.idle();
  });
  after(() => h.close());

  async function albumHashes(user: DiscordUser): Promise<{ hashes: Set<string>; texts: string[]; flags: number[] }> {
    const invoked = await h.emulator.invokeCommand(guild.id, guild.channels[0]!.id, user, 'album', [{ name: 'name', type: STRING, value: 'Obama' }]);
    const answer = await answerTo(h, invoked, 'the album');
    const deferral = h.emulator.callbacks.find((c) => c.interactionId === invoked.id && c.type === 5);
    const hashes = new Set<string>();
    for (const message of answer.followUps)
      for (const file of message.files) for (const entry of await readZipBytes(file.bytes)) hashes.add(sha256Hex(entry.bytes));
    return {
      hashes,
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
    for (const hash of [...posted.general, ...posted.staff]) assert.ok(hashes.has(hash));
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
});
