import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GROUP, NO_DATASETS } from '../helpers/datasets.ts';
import { photoCount } from '../helpers/bot-answers.ts';
import type { PhotoFile } from '../helpers/bot-driver.ts';
import { TelegramDriver } from '../helpers/telegram-driver.ts';

async function photoFile(person: string, n: number): Promise<PhotoFile> {
  const file = path.join(GROUP, person, `${person}${n}.png`);
  return { name: path.basename(file), bytes: await readFile(file) };
}

/** A person's line in /people ("• Ann: 1 photo, 1 sample"). */
function peopleLine(text: string, name: string): string | undefined {
  return text.split('\n').find((line) => line.includes(`${name}:`));
}

/**
 * A hostile member through the Telegram emulator (issue 20, finding 1): they must not make someone
 * else's face their own sample, and their /forget me must not delete the group's photos.
 */
describe('Telegram bot: a hostile member cannot take over or erase someone else', { skip: NO_DATASETS }, () => {
  let bot: TelegramDriver;
  before(async () => {
    bot = await TelegramDriver.start();
  });
  after(() => bot.close());

  it('GIVEN Penny enrolled by the admin WHEN the member replies "/enroll me" to her photo THEN it is refused, and her album keeps it', async () => {
    const group = await bot.group('Penny');
    const [photo] = await bot.postPhotos(group, 'admin', [await photoFile('penny', 1)]);
    assert.match((await bot.command(group, 'admin', { name: 'enroll', person: 'Penny' }, { about: photo! })).text, /Penny/);
    const before = peopleLine((await bot.command(group, 'member', { name: 'people' })).text, 'Penny');
    assert.match(before ?? '', /1 photo/);
    const refused = await bot.command(group, 'member', { name: 'enroll', person: 'me' }, { about: photo! });
    assert.match(refused.text, /Penny/);
    assert.match(refused.text, /admin/i);
    const people = (await bot.command(group, 'member', { name: 'people' })).text;
    assert.equal(peopleLine(people, 'Penny'), before);
    assert.doesNotMatch(people, new RegExp(bot.names.member));
  });

  it('GIVEN photos of someone not enrolled, posted by the admin, WHEN the member enrolls that face as "me" and says "/forget me" THEN no photo is deleted', async () => {
    const group = await bot.group('Raj');
    const posts = await bot.postPhotos(group, 'admin', [await photoFile('raj', 1), await photoFile('raj', 2), await photoFile('raj', 3)]);
    assert.match((await bot.command(group, 'member', { name: 'enroll', person: 'me' }, { about: posts[0]! })).text, /enrolled|added/i);
    const photos = photoCount((await bot.command(group, 'member', { name: 'stats' })).text);
    assert.equal(photos, 3);
    const forgotten = await bot.command(group, 'member', { name: 'forget', person: 'me' });
    assert.equal(photoCount((await bot.command(group, 'member', { name: 'stats' })).text), photos, "the group's photos stay");
    assert.match(forgotten.text, /forgotten/);
    assert.match(forgotten.text, /photos stay/);
  });

  it('WHEN a member says "/forget me photos" THEN the photos they posted go too, and no other', async () => {
    const group = await bot.group('Stuart');
    await bot.postPhotos(group, 'admin', [await photoFile('stuart', 2)]);
    const [own] = await bot.postPhotos(group, 'member', [await photoFile('stuart', 1)]);
    assert.match((await bot.command(group, 'member', { name: 'enroll', person: 'me' }, { about: own! })).text, /enrolled|added/i);
    assert.equal(photoCount((await bot.command(group, 'member', { name: 'stats' })).text), 2);
    const forgotten = await bot.command(group, 'member', { name: 'forget', person: 'me photos' });
    assert.match(forgotten.text, /forgotten/);
    assert.equal(photoCount((await bot.command(group, 'member', { name: 'stats' })).text), 1, "only the member's own post is deleted");
  });
});
