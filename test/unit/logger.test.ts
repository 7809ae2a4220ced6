import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createLogger, redactSecrets, type Logger } from '../../src/logger.ts';
import { withoutPassword } from '../../src/core/index.ts';

/** A made-up bot token in Telegram's shape: bot id, colon, 35-character secret. */
const SECRET = 'AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1';
const TOKEN = `123456789:${SECRET}`;
const URL = `https://api.telegram.org/bot${TOKEN}/getMe`;

/** A logger writing into memory, and the parsed lines it wrote. */
function capture(level = 'info'): { log: Logger; output: () => Promise<string> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    log: createLogger(level, stream),
    output: async () => {
      await nextTurn();
      return text;
    },
  };
}

function assertNoSecret(text: string): void {
  assert.ok(text.length > 0, 'nothing was logged');
  assert.ok(!text.includes(SECRET), `the token's secret reached the log: ${text}`);
}

describe('redactSecrets', () => {
  it('GIVEN the secret is 35 characters THEN the test token has the real shape', () => {
    assert.equal(SECRET.length, 35);
  });

  it('GIVEN a Telegram Bot API URL THEN the token in its path is masked and the rest kept', () => {
    assert.equal(redactSecrets(URL), 'https://api.telegram.org/bot[redacted]/getMe');
  });

  it('GIVEN a URL-encoded token (%3A for the colon) THEN it is masked, in a URL and bare', () => {
    const encoded = TOKEN.replace(':', '%3A');
    assert.equal(redactSecrets(`https://api.telegram.org/bot${encoded}/getMe`), 'https://api.telegram.org/bot[redacted]/getMe');
    assert.ok(!redactSecrets(`token=${encoded}&x=1`).includes(SECRET));
    assert.ok(!redactSecrets(`token=${TOKEN.replace(':', '%3a')}`).includes(SECRET));
  });

  it('GIVEN database and Redis URLs with passwords THEN the password is masked and the rest kept', () => {
    assert.equal(redactSecrets('postgres://facefile:s3cr%40t@db:5432/facefile'), 'postgres://facefile:[redacted]@db:5432/facefile');
    assert.equal(redactSecrets('failed: redis://:hunter2@127.0.0.1:6379/0'), 'failed: redis://:[redacted]@127.0.0.1:6379/0');
    assert.equal(redactSecrets('"url":"mysql://root:pw@localhost/test"'), '"url":"mysql://root:[redacted]@localhost/test"');
  });

  it('GIVEN a password as a query parameter (?password=, &sslpassword=) THEN it is masked, in a log line too', () => {
    assert.equal(
      redactSecrets('postgres://facefile@db:5432/facefile?sslmode=require&password=s3cret'),
      'postgres://facefile@db:5432/facefile?sslmode=require&password=[redacted]',
    );
    assert.equal(redactSecrets('"url":"redis://127.0.0.1:6379/0?password=hunter2&db=1"'), '"url":"redis://127.0.0.1:6379/0?password=[redacted]&db=1"');
    assert.equal(redactSecrets('postgres://db/x?sslpassword=k3y'), 'postgres://db/x?sslpassword=[redacted]');
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => lines.push(line) });
    log.info({ database: 'postgres://app@db/lib?password=hunter2' }, 'cannot reach redis://db:6379?Password=hunter2');
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes('hunter2'), lines[0]);
  });

  it('GIVEN a URL with a password as a query parameter THEN withoutPassword masks it for the start-up line', () => {
    assert.equal(withoutPassword('postgres://app@db:5432/lib?password=hunter2&sslmode=require'), 'postgres://app@db:5432/lib?password=***&sslmode=require');
    assert.equal(withoutPassword('redis://127.0.0.1:6379/0?password=hunter2'), 'redis://127.0.0.1:6379/0?password=***');
  });

  it('GIVEN a URL with a colon and an @ in its path THEN nothing is masked', () => {
    assert.equal(redactSecrets('https://example.com/a:b@c'), 'https://example.com/a:b@c');
  });

  it('GIVEN a bare token in text THEN it is masked', () => {
    assert.equal(redactSecrets(`starting with token ${TOKEN}.`), 'starting with token [redacted].');
  });

  it('GIVEN a file download URL THEN the token is masked there too', () => {
    assert.equal(redactSecrets(`https://api.telegram.org/file/bot${TOKEN}/photos/file_1.jpg`), 'https://api.telegram.org/file/bot[redacted]/photos/file_1.jpg');
  });

  it('GIVEN ordinary text with colons and numbers THEN it is left alone', () => {
    const text = 'filed 12:30:45, photo 20240601:beach, chat -100123456789';
    assert.equal(redactSecrets(text), text);
  });
});

describe('createLogger', () => {
  it('GIVEN a string message holding the URL THEN the line has no token', async () => {
    const { log, output } = capture();
    log.info(`calling ${URL}`);
    const text = await output();
    assertNoSecret(text);
    assert.equal((JSON.parse(text) as { msg: string }).msg, 'calling https://api.telegram.org/bot[redacted]/getMe');
  });

  it('GIVEN the URL as a format argument THEN the line has no token', async () => {
    const { log, output } = capture();
    log.warn('retrying %s', URL);
    assertNoSecret(await output());
  });

  it('GIVEN an Error whose message holds the URL, logged under err THEN message and stack have no token', async () => {
    const { log, output } = capture();
    log.error({ err: new Error(`fetch failed: ${URL}`) }, 'polling stopped');
    const text = await output();
    assertNoSecret(text);
    const line = JSON.parse(text) as { err: { message: string; stack: string } };
    assert.equal(line.err.message, 'fetch failed: https://api.telegram.org/bot[redacted]/getMe');
    assert.match(line.err.stack, /bot\[redacted\]/);
  });

  it('GIVEN an Error with the URL in its cause THEN the line has no token', async () => {
    const { log, output } = capture();
    log.error({ err: new Error('polling stopped', { cause: new Error(`GET ${URL} failed`) }) }, 'bot down');
    assertNoSecret(await output());
  });

  it('GIVEN an Error whose message holds the URL, logged directly THEN the line has no token', async () => {
    const { log, output } = capture();
    log.error(new Error(`fetch failed: ${URL}`));
    assertNoSecret(await output());
  });

  it('GIVEN an object with a token field, at the top or one level down THEN the token is redacted', async () => {
    const { log, output } = capture();
    log.info({ token: TOKEN }, 'starting');
    log.info({ telegram: { token: TOKEN } }, 'starting');
    const text = await output();
    assertNoSecret(text);
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { token?: string; telegram?: { token: string } });
    assert.equal(lines[0]?.token, '[redacted]');
    assert.equal(lines[1]?.telegram?.token, '[redacted]');
  });

  it('GIVEN the URL in a string field of a logged object THEN the line has no token', async () => {
    const { log, output } = capture();
    log.info({ url: URL }, 'request');
    assertNoSecret(await output());
  });

  it('GIVEN level warn THEN info lines are not written and warn lines are, with a text level', async () => {
    const { log, output } = capture('warn');
    log.info('hidden');
    log.warn('shown');
    const lines = (await output())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [['warn', 'shown']],
    );
  });
});

describe('redactSecrets for Discord', () => {
  it('GIVEN a Discord bot token in an error message THEN it is masked', () => {
    const token = 'MTA5ODc2NTQzMjEwOTg3NjU0Mw.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB';
    const out = redactSecrets(`login failed for ${token} (401)`);
    assert.equal(out.includes(token), false);
    assert.equal(out.includes('abcdefghijklmnopqrstuvwxyz0123456789AB'), false);
    assert.match(out, /login failed for \[redacted\] \(401\)/);
  });

  it('GIVEN ordinary dotted text (a file name, a version) THEN it is left alone', () => {
    assert.equal(redactSecrets('IMG_0001.jpg v1.2.3 obama.and.biden'), 'IMG_0001.jpg v1.2.3 obama.and.biden');
  });
});
