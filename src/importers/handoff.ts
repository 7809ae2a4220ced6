import { randomBytes } from 'node:crypto';
import { appendFile, link, lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { describeError, forEachConcurrent, parseGroupId, type GroupId, type Log } from '../core/index.ts';
import { readCapped, syncPath, writeAtomically } from '../files/index.ts';
import { safeRelative, type ExportRead } from './export-files.ts';
import type { ImportItem, ImportOutcome } from './import-photos.ts';
import type { MissingPhoto } from './telegram-export.ts';

/**
 * The spool through which `facefile import` hands a group's history to the `facefile bot` that
 * holds the data folder (one writer a folder: the importer may not open the library beside it):
 *
 *   DATA_DIR/handoff/receiver.json        the running bot, saying it takes hand-offs
 *   DATA_DIR/handoff/<id>.partial/        a hand-off being written (the bot never looks inside)
 *   DATA_DIR/handoff/<id>/photos/...      the photos, hard-linked or copied
 *   DATA_DIR/handoff/<id>/manifest.json   what they are: group, message dates, posters, sources
 *   DATA_DIR/handoff/<id>/filed.jsonl     the bot's record of the photos it has done (a restart goes on from it)
 *   DATA_DIR/handoff/rejected/<id>/       a hand-off the bot refused, with why.txt
 *
 * The importer writes the photos, then the manifest, flushes them, and renames the folder from
 * `<id>.partial` to `<id>`: the bot sees a hand-off whole or not at all. This module is the only one
 * that knows the layout, for both sides.
 */
export const HANDOFF_FOLDER = 'handoff';

const RECEIVER_FILE = 'receiver.json';
const MANIFEST_FILE = 'manifest.json';
const JOURNAL_FILE = 'filed.jsonl';
const REJECTED_FOLDER = 'rejected';
const PARTIAL = '.partial';
/** A hand-off's id: its time, then a few random characters; nothing else in the folder is taken for one. */
const HANDOFF_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
/** A manifest of a history of years is some tens of megabytes; a bigger one is nobody's. */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
/** Photos linked or copied at once while handing over. */
const PLACING_AT_ONCE = 4;

/** Why a photo the importer had to hand over is not in the spool (the bot counts it as not filed). */
const UNREADABLE = ['missing', 'too-large', 'unreadable'] as const;
type Unreadable = (typeof UNREADABLE)[number];

const handoffPhoto = z
  .object({
    /** The photo's file inside the hand-off, `photos/<n>.<ext>`; absent when it could not be handed over. */
    file: z.string().max(200).optional(),
    /** Where it was, as the user would find it. */
    name: z.string().min(1).max(4096),
    postedAt: z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'not a date' }),
    postedBy: z.string().max(200).optional(),
    source: z.record(z.string(), z.string().max(4096)),
    unreadable: z.enum(UNREADABLE).optional(),
    /** For a photo too large to hand over: its size in bytes. */
    size: z.number().int().nonnegative().optional(),
  })
  .refine((photo) => (photo.file === undefined) !== (photo.unreadable === undefined), { message: 'a photo needs a file, or why it has none' });

const manifestSchema = z.object({
  version: z.literal(1),
  group: z.string().refine((group) => parseGroupId(group) !== undefined, { message: 'not a group id' }),
  /** What the history is, in words, for the bot's log. */
  from: z.string().max(4096),
  handedAt: z.string(),
  photos: z.array(handoffPhoto),
  missing: z.array(z.object({ message: z.number().int(), date: z.string(), file: z.string(), why: z.string() })),
});

type Manifest = z.infer<typeof manifestSchema>;
type ManifestPhoto = z.infer<typeof handoffPhoto>;

/** The running bot that takes hand-offs, as it says in `receiver.json`. */
export interface HandoffReceiver {
  readonly pid: number;
  readonly host: string;
  /** When it began to take hand-offs: after it took the data folder's lock. */
  readonly since: string;
}

const receiverSchema = z.object({ pid: z.number().int().positive(), host: z.string(), since: z.string() });

/**
 * Says in the data folder that this process (a bot holding its lock) takes hand-offs. `withdraw`
 * takes it back, unless another process has written its own since.
 */
export async function announceReceiver(dataDir: string): Promise<{ withdraw(): Promise<void> }> {
  const folder = path.join(dataDir, HANDOFF_FOLDER);
  await mkdir(folder, { recursive: true });
  const me: HandoffReceiver = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const file = path.join(folder, RECEIVER_FILE);
  await writeAtomically(file, JSON.stringify(me), { durable: true });
  return {
    async withdraw() {
      const now = await readReceiver(file);
      if (now?.pid === me.pid && now.host === me.host && now.since === me.since) await rm(file, { force: true });
    },
  };
}

/**
 * The bot that takes hand-offs, when it is the process that holds the data folder: `holder` is
 * how the lock names its holder (`process <pid> on <host>, since <time>`). A `receiver.json` left
 * by a bot that was killed does not count: its process is not the holder, or (its pid used again)
 * it began before the holder took the lock.
 */
export async function receiverOf(dataDir: string, holder: string | undefined): Promise<HandoffReceiver | undefined> {
  const held = holder === undefined ? null : /^process (\d+) on (.+), since (\S+)$/.exec(holder);
  if (!held) return undefined;
  const receiver = await readReceiver(path.join(dataDir, HANDOFF_FOLDER, RECEIVER_FILE));
  if (!receiver || receiver.pid !== Number(held[1]) || receiver.host !== held[2]) return undefined;
  return Date.parse(receiver.since) >= Date.parse(held[3]!) ? receiver : undefined;
}

async function readReceiver(file: string): Promise<HandoffReceiver | undefined> {
  try {
    const parsed = receiverSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What the importer hands over. */
export interface HandoffRequest {
  readonly dataDir: string;
  readonly group: GroupId;
  /** What the history is, in words: `the Telegram export "Old friends" (./ChatExport_2021-05-03)`. */
  readonly from: string;
  readonly items: readonly ImportItem[];
  /** Photos the export names but does not hold: the bot's note counts them. */
  readonly missing: readonly MissingPhoto[];
  /** The biggest photo handed over (bytes); a bigger one is counted as not filed. */
  readonly maxBytes: number;
  readonly log: Log;
  /** Ctrl-C: nothing is handed over, and what was written is removed. */
  readonly signal?: AbortSignal;
  /** Told after each photo, for a progress line. */
  readonly onPhoto?: () => void;
}

/** What was handed over. */
export interface HandoffReceipt {
  readonly id: string;
  readonly folder: string;
  /** Photos in the spool: hard-linked to their files, or copied. */
  readonly linked: number;
  readonly copied: number;
  /** Photos that could not be handed over, with why (the bot counts them as not filed too). */
  readonly unreadable: readonly { readonly name: string; readonly reason: string }[];
}

/**
 * Writes a hand-off for the running bot: each photo hard-linked into the spool when its file is
 * on the same disk (no copy of a history of gigabytes), else copied and flushed; then the
 * manifest; then the folder is renamed into place. Undefined, with nothing left behind, when
 * `signal` stopped it; a failure removes what was written and throws.
 */
export async function writeHandoff(request: HandoffRequest): Promise<HandoffReceipt | undefined> {
  const handedAt = new Date();
  const id = `${handedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  const root = path.join(request.dataDir, HANDOFF_FOLDER);
  const partial = path.join(root, `${id}${PARTIAL}`);
  const folder = path.join(root, id);
  await mkdir(path.join(partial, 'photos'), { recursive: true });
  try {
    const photos: ManifestPhoto[] = new Array<ManifestPhoto>(request.items.length);
    let linked = 0;
    let copied = 0;
    const unreadable: { name: string; reason: string }[] = [];
    await forEachConcurrent(
      request.items.map((item, index) => ({ item, index })),
      PLACING_AT_ONCE,
      async ({ item, index }) => {
        if (request.signal?.aborted) return;
        const file = `photos/${String(index + 1).padStart(7, '0')}${extensionOf(item.name)}`;
        const placed = await place(item, path.join(partial, ...file.split('/')), request.maxBytes).catch((error: unknown): Placed => {
          request.log.warn({ err: error, file: item.name }, 'a photo could not be handed over');
          return { unreadable: 'unreadable' };
        });
        const described = {
          name: item.name,
          postedAt: item.postedAt.toISOString(),
          ...(item.postedBy ? { postedBy: item.postedBy } : {}),
          source: { ...item.source },
        };
        if ('unreadable' in placed) {
          photos[index] = { ...described, unreadable: placed.unreadable, ...(placed.size !== undefined ? { size: placed.size } : {}) };
          unreadable.push({ name: item.name, reason: unreadableReason(placed.unreadable, request.maxBytes) });
        } else {
          photos[index] = { ...described, file };
          if (placed.linked) linked++;
          else copied++;
        }
        request.onPhoto?.();
      },
    );
    if (request.signal?.aborted) {
      await rm(partial, { recursive: true, force: true });
      return undefined;
    }
    const manifest: Manifest = {
      version: 1,
      group: request.group,
      from: request.from,
      handedAt: handedAt.toISOString(),
      photos,
      missing: request.missing.map((m) => ({ message: m.message, date: m.date, file: m.file, why: m.why })),
    };
    await syncPath(path.join(partial, 'photos'));
    await writeAtomically(path.join(partial, MANIFEST_FILE), JSON.stringify(manifest), { durable: true });
    await rename(partial, folder);
    await syncPath(root);
    return { id, folder, linked, copied, unreadable };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

type Placed = { readonly linked: boolean } | { readonly unreadable: Unreadable; readonly size?: number };

/** One photo into the spool: linked when it is a plain file on this disk, else read and copied. */
async function place(item: ImportItem, target: string, maxBytes: number): Promise<Placed> {
  const local = await item.locate?.();
  if (local !== undefined) {
    const info = await lstat(local).catch(() => undefined);
    if (info?.isFile()) {
      if (info.size > maxBytes) return { unreadable: 'too-large', size: info.size };
      // Another disk (EXDEV), a file system without links, a file of someone else's: then a copy.
      const done = await link(local, target).then(
        () => true,
        () => false,
      );
      if (done) return { linked: true };
    }
  }
  const read: ExportRead = await item.read(maxBytes);
  if ('tooLarge' in read) return { unreadable: 'too-large', size: read.tooLarge };
  if ('missing' in read) return { unreadable: 'missing' };
  const handle = await open(target, 'wx');
  try {
    await handle.writeFile(read.bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { linked: false };
}

/** The words `importPhotos` uses for a photo it cannot read, so that both reports read alike. */
function unreadableReason(why: Unreadable, maxBytes: number): string {
  switch (why) {
    case 'too-large':
      return `larger than ${Math.round(maxBytes / 1e6)} MB`;
    case 'missing':
      return 'not in the export (deleted, or left out when exporting)';
    case 'unreadable':
      return 'cannot be read';
  }
}

/** A photo's extension, kept in the spool for whoever looks at it; anything odd is dropped. */
function extensionOf(name: string): string {
  const ext = path.posix.extname(name).toLowerCase();
  return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : '';
}

/** A hand-off as the bot reads it: the photos as import items, in the order they were handed over. */
export interface Handoff {
  readonly id: string;
  readonly folder: string;
  readonly group: GroupId;
  readonly from: string;
  readonly handedAt: string;
  readonly items: readonly ImportItem[];
  readonly missing: readonly MissingPhoto[];
}

/** A hand-off found in the spool: ready to file, or refused with why (nothing of it is used). */
export type OpenedHandoff = { readonly kind: 'ready'; readonly handoff: Handoff } | { readonly kind: 'refused'; readonly why: string };

/** The hand-offs waiting in the spool, oldest first: folders with a hand-off's name, whole (not `.partial`). */
export async function waitingHandoffs(dataDir: string): Promise<string[]> {
  const names = await readdir(path.join(dataDir, HANDOFF_FOLDER)).catch(() => [] as string[]);
  return names.filter((name) => HANDOFF_ID.test(name)).sort();
}

/**
 * Hand-offs an importer began and never finished (it was killed while writing), untouched for
 * `olderThanMs`; their ids.
 */
export async function abandonedHandoffs(dataDir: string, olderThanMs: number): Promise<string[]> {
  const root = path.join(dataDir, HANDOFF_FOLDER);
  const names = (await readdir(root).catch(() => [] as string[])).filter((name) => name.endsWith(PARTIAL) && HANDOFF_ID.test(name.slice(0, -PARTIAL.length)));
  const old: string[] = [];
  for (const name of names) {
    const info = await lstat(path.join(root, name)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > olderThanMs) old.push(name.slice(0, -PARTIAL.length));
  }
  return old;
}

/** Removes what an importer left of a hand-off it never finished. */
export async function removeAbandoned(dataDir: string, id: string): Promise<void> {
  if (!HANDOFF_ID.test(id)) return;
  await rm(path.join(dataDir, HANDOFF_FOLDER, `${id}${PARTIAL}`), { recursive: true, force: true });
}

/**
 * Reads and checks a hand-off. Whatever is not as an importer writes it is refused whole: not a
 * folder, no manifest or not a plain file, not JSON, another shape, a group id no platform makes,
 * a photo's path outside the hand-off's `photos/` (`..`, absolute, backslashes). A photo whose
 * file is gone or is not a plain file (a link) is only that photo not filed, with a log line.
 */
export async function openHandoff(dataDir: string, id: string, log: Log): Promise<OpenedHandoff> {
  if (!HANDOFF_ID.test(id)) return { kind: 'refused', why: 'not a hand-off name' };
  const folder = path.join(dataDir, HANDOFF_FOLDER, id);
  const info = await lstat(folder).catch(() => undefined);
  if (!info?.isDirectory()) return { kind: 'refused', why: 'not a folder' };
  const manifestFile = path.join(folder, MANIFEST_FILE);
  const manifestInfo = await lstat(manifestFile).catch(() => undefined);
  if (!manifestInfo?.isFile()) return { kind: 'refused', why: `no ${MANIFEST_FILE}, or not a plain file` };
  let text: string;
  try {
    const read = await readCapped(manifestFile, MAX_MANIFEST_BYTES);
    if (!('bytes' in read)) return { kind: 'refused', why: `${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MB` };
    text = read.bytes.toString('utf8');
  } catch (error) {
    return { kind: 'refused', why: `${MANIFEST_FILE} cannot be read (${describeError(error)})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: 'refused', why: `${MANIFEST_FILE} is not JSON (${(error as Error).message})` };
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'refused', why: `${MANIFEST_FILE} is not a hand-off's${issue ? ` (${issue.path.join('.') || 'the file'}: ${issue.message})` : ''}` };
  }
  const manifest = parsed.data;
  for (const [index, photo] of manifest.photos.entries()) {
    if (photo.file !== undefined && (safeRelative(photo.file) !== photo.file || !photo.file.startsWith('photos/'))) {
      return { kind: 'refused', why: `photo ${index + 1}'s file (${JSON.stringify(photo.file.slice(0, 200))}) is outside the hand-off's photos/` };
    }
  }
  const items = manifest.photos.map((photo) => spooledItem(folder, photo, id, log));
  return {
    kind: 'ready',
    handoff: { id, folder, group: manifest.group, from: manifest.from, handedAt: manifest.handedAt, items, missing: manifest.missing },
  };
}

function spooledItem(folder: string, photo: ManifestPhoto, id: string, log: Log): ImportItem {
  return {
    name: photo.name,
    postedAt: new Date(photo.postedAt),
    ...(photo.postedBy !== undefined ? { postedBy: photo.postedBy } : {}),
    source: photo.source,
    async read(maxBytes): Promise<ExportRead> {
      if (photo.file === undefined) {
        if (photo.unreadable === 'too-large') return { tooLarge: photo.size ?? maxBytes + 1 };
        if (photo.unreadable === 'missing') return { missing: true };
        throw new Error('the importer could not read it');
      }
      const file = path.join(folder, ...photo.file.split('/'));
      const info = await lstat(file).catch(() => undefined);
      if (!info?.isFile()) {
        log.warn(
          { handoff: id, file: photo.file, name: photo.name },
          info ? 'a handed-over photo is not a plain file' : 'a handed-over photo is missing from the hand-off',
        );
        return { missing: true };
      }
      return readCapped(file, maxBytes);
    },
  };
}

/** Moves a refused hand-off to `rejected/`, with why, for the owner to look at; never deletes it. */
export async function setAsideHandoff(dataDir: string, id: string, why: string): Promise<string> {
  const rejected = path.join(dataDir, HANDOFF_FOLDER, REJECTED_FOLDER);
  await mkdir(rejected, { recursive: true });
  let target = path.join(rejected, id);
  for (let n = 2; await exists(target); n++) target = path.join(rejected, `${id}-${n}`);
  await rename(path.join(dataDir, HANDOFF_FOLDER, id), target);
  // Into the folder when it is one of ours; beside whatever else it is.
  const note = (await lstat(target)).isDirectory() ? path.join(target, 'why.txt') : `${target}.why.txt`;
  await writeFile(note, `${why}\n`).catch(() => undefined);
  return target;
}

async function exists(target: string): Promise<boolean> {
  return lstat(target).then(
    () => true,
    () => false,
  );
}

/** Removes a hand-off that is done. */
export async function removeHandoff(handoff: Pick<Handoff, 'folder'>): Promise<void> {
  await rm(handoff.folder, { recursive: true, force: true });
}

/** One photo of a hand-off as the bot ended it: its place in the manifest, the outcome, the people or the reason. */
export interface FiledPhoto {
  readonly photo: number;
  readonly outcome: ImportOutcome;
  readonly people?: readonly string[];
  readonly name?: string;
  readonly reason?: string;
}

/** What the bot did of a hand-off before it stopped (or was killed): read at its next start. */
export interface HandoffJournal {
  /** When the bot began filing it. */
  readonly startedAt?: string;
  readonly photos: ReadonlyMap<number, FiledPhoto>;
  /** Every photo was done and the group told: only the removal was left. */
  readonly ended: boolean;
}

const journalLine = z.union([
  z.object({ startedAt: z.string() }),
  z.object({ ended: z.literal(true) }),
  z.object({
    photo: z.number().int().nonnegative(),
    outcome: z.enum(['filed', 'already-filed', 'failed']),
    people: z.array(z.string()).optional(),
    name: z.string().optional(),
    reason: z.string().optional(),
  }),
]);

/**
 * The bot's record of a hand-off, one JSON line an event, appended as photos end. A line cut short
 * by a kill is ignored: that photo is tried again, and found filed already by its content.
 */
export async function readJournal(handoff: Pick<Handoff, 'folder'>): Promise<HandoffJournal> {
  const text = await readFile(path.join(handoff.folder, JOURNAL_FILE), 'utf8').catch(() => '');
  let startedAt: string | undefined;
  let ended = false;
  const photos = new Map<number, FiledPhoto>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed;
    try {
      parsed = journalLine.safeParse(JSON.parse(line));
    } catch {
      continue;
    }
    if (!parsed.success) continue;
    const entry = parsed.data;
    if ('startedAt' in entry) startedAt ??= entry.startedAt;
    else if ('ended' in entry) ended = true;
    else photos.set(entry.photo, entry as FiledPhoto);
  }
  return { ...(startedAt !== undefined ? { startedAt } : {}), photos, ended };
}

/** Appends to a hand-off's record; the lines go one after another, in the order given. */
export function journalWriter(handoff: Pick<Handoff, 'folder'>): {
  write(entry: FiledPhoto | { startedAt: string } | { ended: true }): void;
  flushed(): Promise<void>;
} {
  const file = path.join(handoff.folder, JOURNAL_FILE);
  let writes: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  return {
    write(entry) {
      writes = writes
        .then(() => appendFile(file, `${JSON.stringify(entry)}\n`))
        .catch((error: unknown) => void (failure ??= error instanceof Error ? error : new Error(String(error))));
    },
    async flushed() {
      await writes;
      if (failure !== undefined) throw failure;
    },
  };
}
