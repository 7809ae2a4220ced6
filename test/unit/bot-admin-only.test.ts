import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLog } from '../../src/core/index.ts';
import type { PhotoJobs } from '../../src/jobs/index.ts';
import { Bot, type BotCommand, type ChatContext } from '../../src/bot/index.ts';
import { fakeLibrary } from '../fakes/fake-library.ts';
import { fakeChat } from '../fakes/fake-chat.ts';

function chat(admin: boolean): ChatContext & { replies: string[] } {
  return fakeChat('tg:-1', { id: 'tg:7', displayName: 'Ben' }, admin);
}

function botWith(commands: BotCommand[]): Bot {
  return new Bot({ library: fakeLibrary().library, queue: {} as PhotoJobs, log: silentLog, eraseAfterDays: 30, commands });
}

describe('the admin rule, checked once by the bot layer', () => {
  const ran: string[] = [];
  const admins: BotCommand = { name: 'admins', description: '', adminOnly: true, run: (ctx) => Promise.resolve(void ran.push(ctx.caller!.id)) };
  const depends: BotCommand = {
    name: 'depends',
    description: '',
    adminOnly: (args) => args['who'] !== 'me',
    adminHint: () => '/depends me works for anyone.',
    run: (ctx) => Promise.resolve(void ran.push(ctx.caller!.id)),
  };
  const bot = botWith([admins, depends]);

  it('GIVEN a member WHEN they run an admin command THEN it is refused and never runs', async () => {
    ran.length = 0;
    const member = chat(false);
    await bot.command(member, 'admins', {});
    assert.deepEqual(ran, []);
    assert.deepEqual(member.replies, ["Only the group's admins can do that."]);
  });

  it('GIVEN an admin THEN it runs', async () => {
    ran.length = 0;
    await bot.command(chat(true), 'admins', {});
    assert.deepEqual(ran, ['tg:7']);
  });

  it('GIVEN a rule on the arguments THEN a member runs the open form and is refused the other, with the hint', async () => {
    ran.length = 0;
    const member = chat(false);
    await bot.command(member, 'depends', { who: 'me' });
    await bot.command(member, 'depends', { who: 'Anna' });
    assert.deepEqual(ran, ['tg:7']);
    assert.deepEqual(member.replies, ["Only the group's admins can do that. (/depends me works for anyone.)"]);
  });
});
