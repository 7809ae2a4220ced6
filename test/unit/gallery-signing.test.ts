import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from '@telegram-apps/init-data-node';
import { Signer, checkLaunchData } from '../../src/web/gallery/index.ts';

const TOKEN = '123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ';
const NOW = Date.parse('2026-12-05T12:00:00Z');
const ADA = { id: 42, first_name: 'Ada', last_name: 'Lovelace', username: 'ada' };

/** Launch data as Telegram's client passes it, signed by the Telegram Mini Apps team's own library. */
function launch(options: { token?: string; at?: number; startParam?: string } = {}): string {
  return sign({ user: ADA, start_param: options.startParam ?? '-1001' }, options.token ?? TOKEN, new Date(options.at ?? NOW));
}

describe('gallery: Telegram Mini App launch data', () => {
  it('GIVEN launch data signed with the bot token THEN it names the user and the start parameter', () => {
    const checked = checkLaunchData(launch(), TOKEN, { maxAgeSeconds: 3600, now: NOW });
    assert.deepEqual(checked, { ok: true, user: { id: 42, name: 'Ada Lovelace' }, startParam: '-1001', authDate: NOW / 1000 });
  });

  it('GIVEN a field altered after signing (another group, another user) THEN the signature fails', () => {
    const data = launch();
    for (const altered of [data.replace('start_param=-1001', 'start_param=-1002'), data.replace('%22id%22%3A42', '%22id%22%3A43')]) {
      assert.notEqual(altered, data);
      assert.deepEqual(checkLaunchData(altered, TOKEN, { maxAgeSeconds: 3600, now: NOW }), { ok: false, reason: 'bad-signature' });
    }
  });

  it("GIVEN launch data of another bot THEN it is refused: a bot's own token signs its Mini App", () => {
    const other = launch({ token: '654321:ZZyyXXwwVVuuTTssRRqqPPooNNmmLLkkJJ' });
    assert.deepEqual(checkLaunchData(other, TOKEN, { maxAgeSeconds: 3600, now: NOW }), { ok: false, reason: 'bad-signature' });
  });

  it('GIVEN launch data older than the limit, or from the future THEN it has expired', () => {
    assert.deepEqual(checkLaunchData(launch({ at: NOW - 3601_000 }), TOKEN, { maxAgeSeconds: 3600, now: NOW }), { ok: false, reason: 'expired' });
    assert.deepEqual(checkLaunchData(launch({ at: NOW + 3600_000 }), TOKEN, { maxAgeSeconds: 3600, now: NOW }), { ok: false, reason: 'expired' });
    assert.equal(checkLaunchData(launch({ at: NOW - 3599_000 }), TOKEN, { maxAgeSeconds: 3600, now: NOW }).ok, true);
  });

  it('GIVEN no hash, a short one, garbage or nothing THEN it is malformed, never a throw', () => {
    for (const data of ['', 'user=%7B%7D', launch().replace(/hash=[0-9a-f]+/, 'hash=abc'), '%%%', 'a'.repeat(9000)]) {
      assert.deepEqual(checkLaunchData(data, TOKEN, { maxAgeSeconds: 3600, now: NOW }), { ok: false, reason: 'malformed' }, data.slice(0, 40));
    }
  });
});

describe('gallery: signed links and sessions', () => {
  const signer = new Signer('a'.repeat(64));

  it('GIVEN a token THEN it opens for its purpose until it expires', () => {
    const token = signer.sign('session', { g: 'tg:-1', u: '42', exp: NOW / 1000 + 600 });
    assert.deepEqual(signer.open('session', token, NOW), { g: 'tg:-1', u: '42', exp: NOW / 1000 + 600 });
    assert.equal(signer.open('session', token, NOW + 600_000), undefined, 'expired');
    assert.equal(signer.open('link', token, NOW), undefined, 'a session is not a link');
  });

  it('GIVEN a token altered, or made with another secret THEN it does not open', () => {
    const token = signer.sign('link', { g: 'dc:1', u: '7', exp: NOW / 1000 + 600 });
    const [body, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ g: 'dc:2', u: '7', exp: NOW / 1000 + 600 })).toString('base64url');
    assert.equal(signer.open('link', `${forged}.${mac}`, NOW), undefined);
    assert.equal(signer.open('link', `${body}.${mac.slice(1)}`, NOW), undefined);
    assert.equal(new Signer('b'.repeat(64)).open('link', token, NOW), undefined);
    for (const junk of ['', '.', 'a.b.c', `${body}.`, 'x'.repeat(5000)]) assert.equal(signer.open('link', junk, NOW), undefined);
  });

  it('GIVEN a payload without an expiry THEN it never opens', () => {
    const body = Buffer.from(JSON.stringify({ g: 'dc:1' })).toString('base64url');
    const token = signer.sign('link', { g: 'dc:1', exp: 1 });
    assert.equal(signer.open('link', `${body}.${token.split('.')[1]!}`, NOW), undefined);
  });
});
