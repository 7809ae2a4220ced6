import os from 'node:os';
import path from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { ConfigError, THRESHOLD_RANGE } from './core/index.ts';
import { EMBEDDERS } from './recognition/embedders.ts';

/**
 * Every setting facefile reads, with its default. This is the only module that reads
 * `process.env`; `.env.example` documents the same keys.
 */
const schema = z.object({
  DATA_DIR: z.string().min(1).default('./data'),
  KEYV_URL: z.string().min(1).optional(),
  DATABASE_URL: z
    .string()
    .min(1)
    .refine((v) => /^postgres(ql)?:\/\//i.test(v), 'expected a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .min(1)
    .refine((v) => /^rediss?:\/\//i.test(v), 'expected a redis:// or rediss:// URL')
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('facefile'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  STARTUP_RETRY_SECONDS: z.coerce.number().int().min(0).max(86_400).default(120),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  ARCHIVE_INPUT_DIR: z.string().min(1).default('./photos'),
  ARCHIVE_KNOWN_DIR: z.string().min(1).default('./known'),
  ARCHIVE_OUTPUT_DIR: z.string().min(1).default('./archive'),
  ARCHIVE_ZIP_DIR: z.string().min(1).default('./zips'),

  MATCH_THRESHOLD: z.coerce
    .number()
    .min(THRESHOLD_RANGE.min, `from ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max}, as /threshold and --threshold`)
    .max(THRESHOLD_RANGE.max, `from ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max}, as /threshold and --threshold`)
    .optional(),
  MATCH_MARGIN: z.coerce.number().min(0).max(1).default(0.02),
  REPLY_MODE: z.enum(['quiet', 'summary']).default('quiet'),
  UNKNOWN_FACE_RETENTION_DAYS: z.coerce.number().min(1).default(90),
  GROUP_ERASE_AFTER_DAYS: z.coerce.number().min(0).default(30),
  MIN_CLUSTER_PHOTOS: z.coerce.number().int().min(2).default(3),
  QUEUE_MAX_PHOTOS: z.coerce.number().int().min(1).default(5000),
  QUEUE_MAX_MB: z.coerce.number().int().min(1).default(4096),
  MIN_EYE_DISTANCE: z.coerce.number().min(0).default(12),
  MIN_FACE_SCORE: z.coerce.number().min(0).max(1).default(0.5),

  MAX_IMAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(50 * 1024 * 1024),
  MAX_IMAGE_PIXELS: z.coerce.number().int().positive().default(100_000_000),

  // Checked for shape before any network call: a token pasted wrong is a setting, not an outage.
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d{1,20}:[A-Za-z0-9_-]{20,}$/, 'does not look like a bot token (digits, a colon, then a long code, as @BotFather gives it)')
    .optional(),
  TELEGRAM_API_ROOT: z.url().optional(),
  TELEGRAM_WEBHOOK_URL: z.url().optional(),
  TELEGRAM_WEBHOOK_PORT: z.coerce.number().int().min(1).max(65535).default(8443),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, 'letters, digits, _ and - only')
    .optional(),
  TELEGRAM_MAX_DOWNLOAD_BYTES: z.coerce.number().int().positive().default(20_000_000),
  TELEGRAM_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(50_000_000),
  TELEGRAM_GROUP_INTERVAL_MS: z.coerce.number().int().min(0).default(3100),
  DISCORD_TOKEN: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$/,
      "does not look like a bot token (three parts joined by dots, from the Developer Portal's Bot page)",
    )
    .optional(),
  DISCORD_API_ROOT: z.url().optional(),
  DISCORD_LIBRARY_SCOPE: z.enum(['guild', 'channel']).default('guild'),
  DISCORD_MESSAGE_CONTENT: z.enum(['true', 'false']).default('true'),
  DISCORD_MAX_DOWNLOAD_BYTES: z.coerce.number().int().positive().default(25_000_000),
  DISCORD_SHARD_COUNT: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(10_000)]).default('auto'),
  DISCORD_SHARD_IDS: z
    .string()
    .regex(/^\d+(\s*,\s*\d+)*$/, 'a comma-separated list of shard numbers, such as 0,1')
    .optional(),

  PUBLIC_URL: z
    .url()
    .refine((v) => {
      const url = new URL(v);
      return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
    }, 'the gallery is served over https (behind your reverse proxy); plain http only for localhost')
    .optional(),
  GALLERY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  GALLERY_HOST: z.string().min(1).default('127.0.0.1'),
  GALLERY_SECRET: z.string().min(32, 'at least 32 characters (openssl rand -hex 32)').optional(),
  TELEGRAM_MINI_APP: z
    .string()
    .regex(/^[A-Za-z0-9_]{3,30}$/, "the Mini App's short name as @BotFather has it: 3 to 30 letters, digits or _")
    .default('gallery'),

  RECOGNITION_BACKEND: z.enum(['auto', 'onnx', 'wasm', 'tensorflow']).optional(),
  EMBEDDER: z.enum(EMBEDDERS).optional(),
  /** The name RECOGNITION_BACKEND had before onnxruntime; still read, so old .env files work. */
  TF_BACKEND: z.enum(['auto', 'onnx', 'wasm', 'tensorflow']).optional(),
  WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  MODELS_DIR: z.string().min(1).optional(),
});

type Env = z.infer<typeof schema>;

export interface Config {
  readonly dataDir: string;
  /** Where an earlier release kept the library in keyv (redis://, postgres://, ...): read once, to import it. */
  readonly keyvUrl: string | undefined;
  /** PostgreSQL for the library instead of the embedded SQLite file in the data folder. */
  readonly databaseUrl: string | undefined;
  readonly logLevel: Env['LOG_LEVEL'];
  /**
   * Scale-out: with Redis set, photos are BullMQ jobs that `facefile worker` processes file, and
   * the bot only receives and answers. Absent, one process does everything (the default).
   */
  readonly redisUrl: string | undefined;
  /** Starts every Redis key of this deployment, so that two can share one Redis. */
  readonly redisPrefix: string;
  /** Photo jobs one worker process runs at once; the engine's worker count by default. */
  readonly workerConcurrency: number;
  /**
   * The single process's queue of posted photos: at most this many photos and bytes wait; a group
   * fills at most half of either. A photo over the bound is refused, with a reply.
   */
  readonly queue: { readonly maxPhotos: number; readonly maxBytes: number };
  /** Where `/metrics`, `/healthz` and `/readyz` are served; absent or 0: not served. */
  readonly metricsPort: number | undefined;
  /** How long a start waits for an unreachable database, Redis or chat API before it ends (exit 1). */
  readonly startupRetryMs: number;
  readonly archive: {
    readonly inputDir: string;
    readonly knownDir: string;
    readonly outputDir: string;
    readonly zipDir: string;
  };
  readonly match: {
    /** Absent means: the embedder's measured default. */
    readonly threshold: number | undefined;
    readonly margin: number;
  };
  readonly library: {
    readonly replyMode: Env['REPLY_MODE'];
    readonly unknownRetentionDays: number;
    readonly minClusterPhotos: number;
    /** Days after the bot is removed from a group before everything of that group is erased. */
    readonly eraseLeftGroupsAfterDays: number;
  };
  readonly engine: {
    readonly backend: NonNullable<Env['RECOGNITION_BACKEND']>;
    /** Absent: the shipped embedder where onnxruntime-node loads, else the dlib one. */
    readonly embedder: Env['EMBEDDER'];
    readonly workers: number;
    readonly modelsDir: string | undefined;
    readonly minEyeDistance: number;
    readonly minFaceScore: number;
  };
  readonly decoder: {
    readonly maxBytes: number;
    readonly maxPixels: number;
  };
  /**
   * The group gallery, served by every bot process when PUBLIC_URL is set: on `port` of `host`,
   * behind the operator's https reverse proxy. `secret` signs links and sessions (every process of
   * a deployment must share it; derived from the bot tokens when not set).
   */
  readonly gallery:
    { readonly publicUrl: string; readonly port: number; readonly host: string; readonly secret: string | undefined; readonly miniApp: string } | undefined;
  /** Present when a token is set. */
  readonly telegram:
    | {
        readonly token: string;
        readonly apiRoot: string | undefined;
        readonly webhook: { readonly url: string; readonly port: number; readonly secretToken: string | undefined } | undefined;
        readonly maxDownloadBytes: number;
        readonly maxUploadBytes: number;
        readonly groupIntervalMs: number;
      }
    | undefined;
  readonly discord:
    | {
        readonly token: string;
        readonly apiRoot: string | undefined;
        /** One library per server, or per channel. */
        readonly scope: 'guild' | 'channel';
        /** Whether to ask for the privileged MessageContent intent (photos in channels). */
        readonly messageContent: boolean;
        readonly maxDownloadBytes: number;
        /** Gateway shards in all ('auto': Discord's recommendation), and the ones this process runs (all when absent). */
        readonly shards: { readonly count: number | 'auto'; readonly ids: readonly number[] | undefined };
      }
    | undefined;
}

/**
 * Reads `.env` (if present) and the environment, validates every key at once, and returns a frozen
 * config. Throws `ConfigError` listing every bad key.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: { dotenvPath?: string; cwd?: string } = {}): Config {
  if (env === process.env) loadDotenv({ path: options.dotenvPath ?? '.env', quiet: true });
  const cwd = options.cwd ?? process.cwd();
  const parsed = schema.safeParse(emptyToUndefined(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const shardIds = e.DISCORD_SHARD_IDS?.split(',').map((id) => Number(id.trim()));
  const count = e.DISCORD_SHARD_COUNT;
  if (typeof count === 'number' && shardIds?.some((id) => id >= count)) {
    throw new ConfigError([`DISCORD_SHARD_IDS: shard numbers run from 0 to ${count - 1} when DISCORD_SHARD_COUNT is ${count}`]);
  }
  const abs = (p: string) => path.resolve(cwd, p);
  return deepFreeze({
    dataDir: abs(e.DATA_DIR),
    keyvUrl: e.KEYV_URL,
    databaseUrl: e.DATABASE_URL,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY ?? e.WORKERS ?? Math.max(1, os.availableParallelism()),
    queue: { maxPhotos: e.QUEUE_MAX_PHOTOS, maxBytes: e.QUEUE_MAX_MB * 1024 * 1024 },
    metricsPort: e.METRICS_PORT === 0 ? undefined : e.METRICS_PORT,
    startupRetryMs: e.STARTUP_RETRY_SECONDS * 1000,
    archive: {
      inputDir: abs(e.ARCHIVE_INPUT_DIR),
      knownDir: abs(e.ARCHIVE_KNOWN_DIR),
      outputDir: abs(e.ARCHIVE_OUTPUT_DIR),
      zipDir: abs(e.ARCHIVE_ZIP_DIR),
    },
    match: { threshold: e.MATCH_THRESHOLD, margin: e.MATCH_MARGIN },
    library: {
      replyMode: e.REPLY_MODE,
      unknownRetentionDays: e.UNKNOWN_FACE_RETENTION_DAYS,
      minClusterPhotos: e.MIN_CLUSTER_PHOTOS,
      eraseLeftGroupsAfterDays: e.GROUP_ERASE_AFTER_DAYS,
    },
    engine: {
      backend: e.RECOGNITION_BACKEND ?? e.TF_BACKEND ?? 'auto',
      embedder: e.EMBEDDER,
      workers: e.WORKERS ?? Math.max(1, os.availableParallelism()),
      modelsDir: e.MODELS_DIR === undefined ? undefined : abs(e.MODELS_DIR),
      minEyeDistance: e.MIN_EYE_DISTANCE,
      minFaceScore: e.MIN_FACE_SCORE,
    },
    decoder: { maxBytes: e.MAX_IMAGE_BYTES, maxPixels: e.MAX_IMAGE_PIXELS },
    gallery: e.PUBLIC_URL
      ? { publicUrl: e.PUBLIC_URL.replace(/\/+$/, ''), port: e.GALLERY_PORT, host: e.GALLERY_HOST, secret: e.GALLERY_SECRET, miniApp: e.TELEGRAM_MINI_APP }
      : undefined,
    telegram: e.TELEGRAM_BOT_TOKEN
      ? {
          token: e.TELEGRAM_BOT_TOKEN,
          apiRoot: e.TELEGRAM_API_ROOT,
          webhook: e.TELEGRAM_WEBHOOK_URL ? { url: e.TELEGRAM_WEBHOOK_URL, port: e.TELEGRAM_WEBHOOK_PORT, secretToken: e.TELEGRAM_WEBHOOK_SECRET } : undefined,
          maxDownloadBytes: e.TELEGRAM_MAX_DOWNLOAD_BYTES,
          maxUploadBytes: e.TELEGRAM_MAX_UPLOAD_BYTES,
          groupIntervalMs: e.TELEGRAM_GROUP_INTERVAL_MS,
        }
      : undefined,
    discord: e.DISCORD_TOKEN
      ? {
          token: e.DISCORD_TOKEN,
          apiRoot: e.DISCORD_API_ROOT,
          scope: e.DISCORD_LIBRARY_SCOPE,
          messageContent: e.DISCORD_MESSAGE_CONTENT === 'true',
          maxDownloadBytes: e.DISCORD_MAX_DOWNLOAD_BYTES,
          shards: { count, ids: shardIds },
        }
      : undefined,
  });
}

/** Prefixes only facefile's settings use; other tools' variables (TF_CPP_…, LOG_…) are left alone. */
const OWN_PREFIXES = ['TELEGRAM_', 'DISCORD_', 'ARCHIVE_', 'MATCH_', 'KEYV_', 'REDIS_', 'WORKER_', 'METRICS_', 'GALLERY_'];

/**
 * Keys that are not settings but look like one (one of facefile's prefixes, or a letter or two away
 * from a real key), each with the key most likely meant: `TELEGRAM_TOKEN` for `TELEGRAM_BOT_TOKEN`.
 * Call it after `loadConfig`, which has put the keys of `.env` into `process.env`.
 */
export function settingWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = Object.keys(schema.shape);
  const warnings: string[] = [];
  for (const key of Object.keys(env)) {
    if (known.includes(key)) continue;
    const [closest, distance] = known.map((k) => [k, editDistance(key, k)] as const).reduce((a, b) => (b[1] < a[1] ? b : a));
    if (distance > 2 && !OWN_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
    warnings.push(`${key} is not a facefile setting and is ignored; did you mean ${closest}?`);
  }
  return warnings;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length]!;
}

/** An empty `KEY=` in .env means "use the default", as people expect. */
function emptyToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    out[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  return out;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child as object);
  return Object.freeze(value);
}

/** Old names still read so that an old `.env` keeps working; documented under their new names only. */
const RENAMED: ReadonlySet<string> = new Set(['TF_BACKEND']);

/** Every setting's name, as the environment and `.env` spell it (the docs' table is checked against it). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema.shape).filter((name) => !RENAMED.has(name));
