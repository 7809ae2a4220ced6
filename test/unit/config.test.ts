import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/core/errors.ts';

describe('loadConfig', () => {
  let cwd = '';
  before(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'facefile-config-'));
  });
  after(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('GIVEN no settings THEN every default is used and every folder is absolute under cwd', () => {
    const config = loadConfig({}, { cwd });
    assert.deepEqual(config, {
      dataDir: path.join(cwd, 'data'),
      keyvUrl: undefined,
      databaseUrl: undefined,
      redisUrl: undefined,
      redisPrefix: 'facefile',
      workerConcurrency: os.availableParallelism(),
      queue: { maxPhotos: 5000, maxBytes: 4096 * 1024 * 1024 },
      metricsPort: undefined,
      startupRetryMs: 120_000,
      logLevel: 'info',
      archive: {
        inputDir: path.join(cwd, 'photos'),
        knownDir: path.join(cwd, 'known'),
        outputDir: path.join(cwd, 'archive'),
        zipDir: path.join(cwd, 'zips'),
      },
      match: { threshold: undefined, margin: 0.02 },
      library: { replyMode: 'quiet', unknownRetentionDays: 90, minClusterPhotos: 3, eraseLeftGroupsAfterDays: 30 },
      engine: {
        backend: 'auto',
        embedder: undefined,
        workers: os.availableParallelism(),
        modelsDir: undefined,
        minEyeDistance: 12,
        minFaceScore: 0.5,
      },
      decoder: { maxBytes: 50 * 1024 * 1024, maxPixels: 100_000_000 },
      gallery: undefined,
      telegram: undefined,
      discord: undefined,
    });
  });

  it('GIVEN an empty or blank value THEN the default is used, as for a missing key', () => {
    const config = loadConfig({ DATA_DIR: '', LOG_LEVEL: '   ', MATCH_MARGIN: '', WORKERS: '', MODELS_DIR: '' }, { cwd });
    assert.equal(config.dataDir, path.join(cwd, 'data'));
    assert.equal(config.logLevel, 'info');
    assert.equal(config.match.margin, 0.02);
    assert.equal(config.engine.workers, os.availableParallelism());
    assert.equal(config.engine.modelsDir, undefined);
  });

  it('GIVEN values THEN numbers are parsed, text is trimmed and relative paths resolve under cwd', () => {
    const config = loadConfig(
      {
        DATA_DIR: ' state/db ',
        ARCHIVE_ZIP_DIR: '/srv/zips',
        LOG_LEVEL: 'debug',
        MATCH_THRESHOLD: '0.93',
        MATCH_MARGIN: '0.05',
        WORKERS: '3',
        TF_BACKEND: 'wasm',
        MODELS_DIR: 'models',
        MAX_IMAGE_BYTES: '1000',
      },
      { cwd },
    );
    assert.equal(config.dataDir, path.join(cwd, 'state', 'db'));
    assert.equal(config.archive.zipDir, '/srv/zips');
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.match, { threshold: 0.93, margin: 0.05 });
    assert.equal(config.engine.workers, 3);
    assert.equal(config.engine.backend, 'wasm');
    assert.equal(config.engine.modelsDir, path.join(cwd, 'models'));
    assert.equal(config.decoder.maxBytes, 1000);
  });

  it('GIVEN a plain object THEN process.env is not read', () => {
    const saved = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'trace';
    try {
      assert.equal(loadConfig({}, { cwd }).logLevel, 'info');
    } finally {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    }
  });

  it('GIVEN several bad keys THEN one ConfigError lists every one of them', () => {
    const env = { MATCH_THRESHOLD: 'abc', WORKERS: '0', LOG_LEVEL: 'loud', MATCH_MARGIN: '0.01' };
    assert.throws(
      () => loadConfig(env, { cwd }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.name, 'ConfigError');
        assert.deepEqual(error.issues.map((issue) => issue.split(':')[0]).sort(), ['LOG_LEVEL', 'MATCH_THRESHOLD', 'WORKERS']);
        for (const key of ['LOG_LEVEL', 'MATCH_THRESHOLD', 'WORKERS']) assert.match(error.message, new RegExp(`^  ${key}: `, 'm'));
        return true;
      },
    );
  });

  it('GIVEN numbers out of range or not whole THEN each is reported', () => {
    const env = { MATCH_THRESHOLD: '1.5', MATCH_MARGIN: '-0.1', WORKERS: '2.5', MAX_IMAGE_PIXELS: '-1', RECOGNITION_BACKEND: 'cuda' };
    assert.throws(
      () => loadConfig(env, { cwd }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.issues.map((issue) => issue.split(':')[0]).sort(), [
          'MATCH_MARGIN',
          'MATCH_THRESHOLD',
          'MAX_IMAGE_PIXELS',
          'RECOGNITION_BACKEND',
          'WORKERS',
        ]);
        return true;
      },
    );
  });

  it('GIVEN a loaded config THEN it and every nested object are frozen and assignment throws', () => {
    const config = loadConfig({}, { cwd });
    for (const part of [config, config.archive, config.match, config.engine, config.decoder]) assert.ok(Object.isFrozen(part));
    assert.throws(() => {
      (config as { dataDir: string }).dataDir = '/elsewhere';
    }, TypeError);
    assert.throws(() => {
      (config.match as { margin: number }).margin = 0.5;
    }, TypeError);
    assert.equal(config.dataDir, path.join(cwd, 'data'));
    assert.equal(config.match.margin, 0.02);
  });
});

describe('loadConfig: DATABASE_URL', () => {
  it('GIVEN a PostgreSQL URL THEN it is the library database; GIVEN another scheme THEN the error names the key, not the password', () => {
    const url = 'postgres://facefile:s3cret-pw@db.example:5432/facefile';
    assert.equal(loadConfig({ DATABASE_URL: url }, { cwd: '/tmp' }).databaseUrl, url);
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'mysql://facefile:s3cret-pw@db.example/facefile' }, { cwd: '/tmp' }),
      (e: unknown) => e instanceof ConfigError && /DATABASE_URL/.test(e.message) && !e.message.includes('s3cret-pw'),
    );
  });
});

describe('loadConfig: MATCH_THRESHOLD', () => {
  it('GIVEN a threshold THEN it is on the scale of --threshold and /threshold, 0.8 to 0.99; GIVEN one off it THEN the error says the range', () => {
    assert.equal(loadConfig({ MATCH_THRESHOLD: '0.95' }, { cwd: '/tmp' }).match.threshold, 0.95);
    for (const value of ['-0.5', '0.5', '1'])
      assert.throws(() => loadConfig({ MATCH_THRESHOLD: value }, { cwd: '/tmp' }), /MATCH_THRESHOLD: from 0\.8 to 0\.99/, value);
  });
});

describe('loadConfig: scale-out', () => {
  it('GIVEN REDIS_URL, WORKER_CONCURRENCY and METRICS_PORT THEN they are read; GIVEN a wrong scheme THEN the key is named, not the password', () => {
    const config = loadConfig({ REDIS_URL: 'redis://:pw@127.0.0.1:6379/2', WORKER_CONCURRENCY: '3', METRICS_PORT: '9464' }, { cwd: '/tmp' });
    assert.deepEqual([config.redisUrl, config.workerConcurrency, config.metricsPort], ['redis://:pw@127.0.0.1:6379/2', 3, 9464]);
    assert.equal(loadConfig({ WORKERS: '5', METRICS_PORT: '0' }, { cwd: '/tmp' }).workerConcurrency, 5);
    assert.equal(loadConfig({ METRICS_PORT: '0' }, { cwd: '/tmp' }).metricsPort, undefined);
    assert.throws(
      () => loadConfig({ REDIS_URL: 'http://:s3cret-pw@cache' }, { cwd: '/tmp' }),
      (e: unknown) => e instanceof ConfigError && /REDIS_URL/.test(e.message) && !e.message.includes('s3cret-pw'),
    );
  });

  it("GIVEN Discord shard settings THEN the count and this process's ids; GIVEN a bad list THEN it is refused", () => {
    assert.deepEqual(loadConfig({ DISCORD_TOKEN: DISCORD_TOKEN }, { cwd: '/tmp' }).discord?.shards, { count: 'auto', ids: undefined });
    assert.deepEqual(loadConfig({ DISCORD_TOKEN: DISCORD_TOKEN, DISCORD_SHARD_COUNT: '4', DISCORD_SHARD_IDS: '0, 2' }, { cwd: '/tmp' }).discord?.shards, {
      count: 4,
      ids: [0, 2],
    });
    assert.throws(() => loadConfig({ DISCORD_TOKEN: DISCORD_TOKEN, DISCORD_SHARD_IDS: 'first' }, { cwd: '/tmp' }), /DISCORD_SHARD_IDS/);
    assert.throws(
      () => loadConfig({ DISCORD_TOKEN: DISCORD_TOKEN, DISCORD_SHARD_COUNT: '2', DISCORD_SHARD_IDS: '1,2' }, { cwd: '/tmp' }),
      /DISCORD_SHARD_IDS: shard numbers run from 0 to 1/,
    );
  });
});

describe('loadConfig for the bots', () => {
  it('GIVEN a token that cannot be a bot token THEN the setting is refused by name, without the token and before any network call', () => {
    for (const [key, value] of [
      ['TELEGRAM_BOT_TOKEN', 'abc'],
      ['TELEGRAM_BOT_TOKEN', '123456:short'],
      ['TELEGRAM_BOT_TOKEN', 'bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX'],
      ['TELEGRAM_BOT_TOKEN', '123456789:AAHdqTcvCH1vGWJx fSeofSAs0K5PALDsawX'],
      ['DISCORD_TOKEN', 'abc'],
      ['DISCORD_TOKEN', TELEGRAM_TOKEN],
    ] as const) {
      assert.throws(
        () => loadConfig({ [key]: value }, { cwd: '/srv' }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.issues.length === 1 &&
          error.issues[0]!.startsWith(`${key}: does not look like a bot token`) &&
          !error.message.includes(value.trim()),
        `${key}=${value}`,
      );
    }
    assert.equal(loadConfig({ TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN }, { cwd: '/srv' }).telegram?.token, TELEGRAM_TOKEN);
    assert.equal(loadConfig({ DISCORD_TOKEN: DISCORD_TOKEN }, { cwd: '/srv' }).discord?.token, DISCORD_TOKEN);
  });

  it('GIVEN a Telegram token THEN the Telegram settings with their defaults, and no secret in any error', () => {
    const config = loadConfig({ TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN }, { cwd: '/srv' });
    assert.deepEqual(config.telegram, {
      token: TELEGRAM_TOKEN,
      apiRoot: undefined,
      webhook: undefined,
      maxDownloadBytes: 20_000_000,
      maxUploadBytes: 50_000_000,
      groupIntervalMs: 3100,
    });
    assert.equal(config.discord, undefined);
    try {
      loadConfig({ TELEGRAM_BOT_TOKEN: '123:secret-token-secret-token-secret', TELEGRAM_API_ROOT: 'not a url with secret-token' }, { cwd: '/srv' });
      assert.fail('an invalid URL must be refused');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /TELEGRAM_API_ROOT/);
      assert.doesNotMatch(error.message, /secret-token/);
    }
  });
});

/** Tokens of the shape the platforms hand out (made up). */
const TELEGRAM_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX';
const DISCORD_TOKEN = 'MTA5ODc2NTQzMjEwOTg3NjU0.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB';
