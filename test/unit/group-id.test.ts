import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupId, isGroupOf, memberId, parseGroupId, type GroupRef } from '../../src/core/index.ts';

describe('group ids', () => {
  it('GIVEN each kind of group THEN its key reads back as the same platform ids', () => {
    const refs: GroupRef[] = [
      { platform: 'telegram', chatId: -1001234567890 },
      { platform: 'telegram', chatId: -4001 },
      { platform: 'telegram', chatId: 777 },
      { platform: 'discord', guildId: '1100000000000000009' },
      { platform: 'discord', guildId: '1100000000000000009', channelId: '1200000000000000001' },
    ];
    for (const ref of refs) assert.deepEqual(parseGroupId(groupId(ref)), ref);
    assert.equal(groupId({ platform: 'telegram', chatId: -1001234567890 }), 'tg:-1001234567890');
    assert.equal(groupId({ platform: 'discord', guildId: '42', channelId: '7' }), 'dc:42:7');
  });

  it('GIVEN keys no platform made THEN they do not parse, and belong to no platform', () => {
    for (const key of ['', 'tg:', 'tg:abc', 'tg:1:2', 'dc:', 'dc:-5', 'dc:1:', 'telegram:1', 'tg:99999999999999999999', 'tg:1 ', ' dc:1', 'dc:1:2:3']) {
      assert.equal(parseGroupId(key), undefined, key);
      assert.equal(isGroupOf(key, 'telegram') || isGroupOf(key, 'discord'), false, key);
    }
    assert.equal(isGroupOf('tg:-100', 'telegram'), true);
    assert.equal(isGroupOf('tg:-100', 'discord'), false);
  });

  it('THEN a member id names the platform, whatever the display name', () => {
    assert.equal(memberId('telegram', 123), 'tg:123');
    assert.equal(memberId('discord', '456'), 'dc:456');
  });
});
