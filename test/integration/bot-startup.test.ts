import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { StartupError, silentLog } from '../../src/core/index.ts';
import { startBots } from '../../src/app/index.ts';
import { BotApiEmulator } from '../emulators/telegram/index.ts';
import { GROUP, NO_DATASETS } from '../helpers/datasets.ts';
import { postgresUrl } from '../helpers/postgres.ts';
import { until } from '../helpers/until.ts';
import { answerTo, startTelegram, textOf, type TelegramHarness } from '../helpers/telegram.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'facefile-startup-'));
}

/** `startBots` on a fresh folder with a Telegram token and API root; resolves to how it failed. */
async function failedStart(apiRoot: string, token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1'): Promise<{ error: unknown; ms: number }> {
  const dir = await tempDir();
  const started = Date.now();
  try {
    // No second try: these tests read the first failure.
    const config = loadConfig({ DATA_DIR: dir, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: apiRoot, STARTUP_RETRY_SECONDS: '0' }, { cwd: dir });
    const bots = await startBots(config, silentLog, { verifyTimeoutMs: 1000 });
    await bots.stop();
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('facefile bot at start-up: the token is checked before the models load', () => {
  it('GIVEN a wrong Telegram token THEN it ends at once with one line saying the token was refused', async () => {
    const emulator = await BotApiEmulator.start();
    try {
      const { error, ms } = await failedStart(emulator.apiRoot);
      assert.ok(error instanceof StartupError, String(error));
      assert.match(error.message, /^Telegram refused the bot token \(401\)/);
      assert.ok(!error.message.includes('\n'));
      assert.ok(ms < 5000, `${ms} ms: the models must not load first`);
    } finally {
      await emulator.close();
    }
  });

  it('GIVEN an API that accepts the connection and never answers THEN it ends after the timeout, saying so', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const { error, ms } = await failedStart(`http://127.0.0.1:${port}`);
      assert.ok(error instanceof StartupError, String(error));
      assert.match(error.message, /did not answer within 1 s/);
      assert.ok(ms < 5000, `${ms} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('GIVEN nothing listening at the API address THEN it ends saying it cannot reach it', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { error } = await failedStart(`http://127.0.0.1:${port}`);
    assert.ok(error instanceof StartupError, String(error));
    assert.match(error.message, /cannot reach the Telegram API at 127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it('GIVEN `facefile bot` with a wrong token THEN exit code 2, one line on stderr, and no token anywhere in it', async () => {
    const emulator = await BotApiEmulator.start();
    const dir = await tempDir();
    const token = '987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX';
    try {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/facefile.js'), 'bot'], {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '', HOME: dir, DATA_DIR: dir, TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: emulator.apiRoot },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 2, stderr);
      const lines = stderr
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('facefile:'));
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^facefile: Telegram refused the bot token/);
      assert.ok(!stderr.includes('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX'), stderr);
    } finally {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const POSTGRES = await postgresUrl();

/** `facefile bot` as a child on a fresh folder, killed at the end of the test if it is still running. */
async function botChild(t: TestContext, env: Record<string, string>) {
  const dir = await tempDir();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/facefile.js'), 'bot'], {
    cwd: dir,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      DATA_DIR: dir,
      WORKERS: '1',
      TELEGRAM_BOT_TOKEN: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1',
      ...env,
    },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return { child, exited, stderr: () => stderr, stdout: () => stdout, lines: () => stderr.split('\n').filter((line) => line.startsWith('facefile:')) };
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  return port;
}

describe('facefile bot at start-up: exit code 2 for wrong settings only; an unreachable service is tried again, then exit 1', () => {
  it('GIVEN nothing listening at the Telegram API THEN it tries again, then ends with exit 1 (its supervisor restarts it) and one line', async (t) => {
    const bot = await botChild(t, { TELEGRAM_API_ROOT: `http://127.0.0.1:${await deadPort()}`, STARTUP_RETRY_SECONDS: '2' });
    const code = await bot.exited;
    assert.equal(code, 1, bot.stderr());
    assert.deepEqual(
      bot.lines().map((line) => /^facefile: cannot reach the Telegram API at 127\.0\.0\.1:\d+: ECONNREFUSED$/.test(line)),
      [true],
      bot.stderr(),
    );
    assert.match(bot.stderr(), /not reachable yet at start: trying again/);
  });

  it('GIVEN nothing listening at REDIS_URL, or at DATABASE_URL THEN exit 1 with a line naming it', async (t) => {
    const redis = await botChild(t, {
      TELEGRAM_API_ROOT: `http://127.0.0.1:${await deadPort()}`,
      REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
      DATABASE_URL: POSTGRES ?? 'postgres://facefile@127.0.0.1:5432/facefile',
      STARTUP_RETRY_SECONDS: '1',
    });
    const database = await botChild(t, {
      TELEGRAM_API_ROOT: `http://127.0.0.1:${await deadPort()}`,
      DATABASE_URL: `postgres://facefile:hunter2@127.0.0.1:${await deadPort()}/facefile`,
      STARTUP_RETRY_SECONDS: '1',
    });
    assert.equal(await redis.exited, 1, redis.stderr());
    assert.match(redis.lines().join('\n'), /^facefile: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: ECONNREFUSED$/);
    assert.equal(await database.exited, 1, database.stderr());
    assert.match(
      database.lines().join('\n'),
      /^facefile: cannot reach PostgreSQL at postgres:\/\/facefile:(\*\*\*|\[redacted\])@127\.0\.0\.1:\d+\/facefile: ECONNREFUSED$/,
    );
    assert.ok(!database.stderr().includes('hunter2'));
  });

  it('GIVEN a PostgreSQL that answers but has no such database THEN a wrong setting: exit 2 at once', { skip: !POSTGRES && 'no PostgreSQL' }, async (t) => {
    const url = new URL(POSTGRES!);
    url.pathname = '/facefile_no_such_database';
    const bot = await botChild(t, { DATABASE_URL: url.toString(), STARTUP_RETRY_SECONDS: '60' });
    assert.equal(await bot.exited, 2, bot.stderr());
    assert.match(bot.lines().join('\n'), /^facefile: PostgreSQL at .* refused the connection: .*does not exist.*; check DATABASE_URL$/);
    assert.doesNotMatch(bot.stderr(), /trying again/);
  });

  it('GIVEN the bot still trying to reach the API WHEN its supervisor stops it THEN it ends at once with 143, never killed by the signal', async (t) => {
    const bot = await botChild(t, { TELEGRAM_API_ROOT: `http://127.0.0.1:${await deadPort()}`, STARTUP_RETRY_SECONDS: '600' });
    await until(() => /trying again/.test(bot.stderr()), 'the first failed try', 60_000);
    bot.child.kill('SIGTERM');
    assert.equal(await bot.exited, 143, bot.stderr());
    assert.equal(bot.child.signalCode, null);
    assert.match(bot.stderr(), /stopped while starting/);
  });

  it('GIVEN the Telegram API down at boot WHEN it comes up while the bot tries again THEN the bot starts', { skip: NO_DATASETS }, async (t) => {
    const emulator = await BotApiEmulator.start();
    t.after(() => emulator.close());
    const port = await deadPort();
    const bot = await botChild(t, { TELEGRAM_API_ROOT: `http://127.0.0.1:${port}`, TELEGRAM_BOT_TOKEN: emulator.token, STARTUP_RETRY_SECONDS: '600' });
    await until(() => /trying again/.test(bot.stderr()), 'the first failed try', 60_000);
    // The API comes up at the address the bot was given: a proxy to the emulator.
    const upstream = Number(new URL(emulator.apiRoot).port);
    // Either end may reset its connection (the bot's long poll when it is stopped, the emulator
    // when it closes): the pair is then dropped, never left to throw in this process.
    const pairs = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const server = net.connect(upstream, '127.0.0.1');
      for (const socket of [client, server]) {
        pairs.add(socket);
        socket.on('error', () => {
          client.destroy();
          server.destroy();
        });
        socket.on('close', () => pairs.delete(socket));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    t.after(() => {
      for (const socket of pairs) socket.destroy();
      proxy.close();
    });
    // It is running (and stops gracefully) once it says so on stdout; the log's "started" comes
    // earlier, while the rest of the start is still under way.
    await until(() => bot.stdout().includes('facefile bot is running'), 'the bot running', 300_000);
    bot.child.kill('SIGTERM');
    assert.equal(await bot.exited, 0, bot.stderr());
  });
});

describe('facefile bot: one writer per data folder, and a polling conflict ends the process', { skip: NO_DATASETS }, () => {
  let h: TelegramHarness;
  const fatal: unknown[] = [];
  before(async () => {
    h = await startTelegram({ TELEGRAM_GROUP_INTERVAL_MS: '100' }, {}, { onFatal: (error) => fatal.push(error) });
    h.emulator.addChat({ id: -3001, type: 'supergroup', title: 'Lock' }, { creator: h.emulator.user(1, 'Ada') });
  });
  after(() => h.close());

  it('GIVEN a running bot WHEN a second one starts on the same DATA_DIR THEN it is refused, naming the first, and the first keeps answering', async () => {
    const config = loadConfig({ DATA_DIR: h.dir, TELEGRAM_BOT_TOKEN: h.emulator.token, TELEGRAM_API_ROOT: h.emulator.apiRoot }, { cwd: h.dir });
    await assert.rejects(startBots(config, silentLog), (error: unknown) => {
      assert.ok(error instanceof StartupError, String(error));
      assert.match(error.message, new RegExp(`in use by another facefile \\(process ${process.pid} on `));
      return true;
    });
    const e = h.emulator;
    const ping = e.postText(-3001, e.user(1, 'Ada'), '/stats');
    assert.match(textOf(await e.waitFor(answerTo(ping))), /Photos: 0/);
    assert.equal(fatal.length, 0);
  });

  it('GIVEN a running bot WHEN another poller asks for its updates THEN its polling ends with 409 and it asks to be restarted', async () => {
    const response = await fetch(`${h.emulator.apiRoot}/bot${h.emulator.token}/getUpdates?timeout=0`);
    assert.equal(response.status, 200);
    for (let waited = 0; fatal.length === 0 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(fatal.length, 1);
    assert.match(String(fatal[0]), /409/);
  });
});

describe('facefile bot: a photo the disk will not take is never confirmed', { skip: NO_DATASETS }, () => {
  it(
    'GIVEN the queue folder cannot be written WHEN a photo is posted THEN the bot asks to be restarted and Telegram keeps the update',
    { timeout: 120_000 },
    async () => {
      const fatal: unknown[] = [];
      const h = await startTelegram({ TELEGRAM_GROUP_INTERVAL_MS: '100' }, {}, { onFatal: (error) => fatal.push(error) });
      try {
        const e = h.emulator;
        e.addChat({ id: -3002, type: 'supergroup', title: 'Full disk' }, { creator: e.user(1, 'Ada') });
        await rm(path.join(h.dir, 'queue'), { recursive: true, force: true });
        await writeFile(path.join(h.dir, 'queue'), 'not a folder: every write into it fails');
        const photo = await readFile(path.join(GROUP, 'obama', (await readdir(path.join(GROUP, 'obama')))[0]!));
        const posted = await e.postPhoto(-3002, e.user(1, 'Ada'), photo);
        for (let waited = 0; fatal.length === 0 && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(fatal.length, 1, 'the bot asked to be restarted');
        assert.match(String(fatal[0]), /could not be written to the queue/);
        assert.equal(e.pendingUpdates(), 1, 'the update is still unconfirmed, so Telegram delivers it again after the restart');
        assert.match(textOf(await e.waitFor(answerTo(posted))), /went wrong on my side/);
      } finally {
        await h.close();
      }
    },
  );
});
