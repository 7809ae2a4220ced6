import { DECODE_FAILURE_MESSAGES, describeAdvice, formatDuration, type AuditEntry, type ImportStatus } from '../core/index.ts';
import type {
  EnrollResult,
  FaceExplanation,
  ForgetResult,
  IngestResult,
  LibraryStats,
  NameClusterResult,
  NotThisResult,
  PersonSummary,
  ScoredPerson,
  SetThresholdResult,
  ThresholdReport,
  UnknownClustersResult,
} from '../core/library/index.ts';
import { MAX_NAME_LENGTH, THRESHOLD_RANGE, type NameRefusal } from '../core/library/index.ts';
import type { Syntax } from './chat-context.ts';
import { MAX_ALBUM_PEOPLE, MAX_ALBUM_PHOTOS, type AlbumArgsError } from './album-args.ts';

/**
 * The words the bots answer with, written once. Where a reply tells the user what to type, it asks
 * the platform's `Syntax`, so that Telegram users read `/enroll Anna` and Discord users
 * `/enroll name:Anna photo:`.
 */

export function ingestSummary(result: IngestResult): string | undefined {
  switch (result.kind) {
    case 'filed': {
      const parts: string[] = [];
      if (result.people.length > 0) parts.push(`Filed under ${list(result.people.map((p) => p.name))}.`);
      if (result.unknownFaces > 0) parts.push(`${count(result.unknownFaces, 'face')} I don't know.`);
      if (result.unusableFaces > 0) parts.push(`${count(result.unusableFaces, 'face')} too small or unclear to tell.`);
      if (parts.length === 0) return 'No faces in this photo.';
      const why = result.explained ? explanation(result.explained.faces, result.explained.threshold) : [];
      return [parts.join(' '), ...why].join('\n');
    }
    case 'duplicate':
      return 'I have this photo already.';
    case 'undecodable':
      return `I can't read this photo: ${DECODE_FAILURE_MESSAGES[result.reason]}.`;
  }
}

/**
 * Why each face went where it went, one line a face, when someone was close enough to mention:
 * the person it was filed under or the closest one, with the runner-up and the scores, so that a
 * group can see why a photo went to an album or to none (and whether /threshold would change it).
 */
function explanation(faces: readonly FaceExplanation[], threshold: number): string[] {
  const score = (p: ScoredPerson) => `${p.name} ${p.similarity.toFixed(2)}`;
  if (!faces.some((f) => f.best)) return [];
  return faces.map((face, i) => {
    const next = face.runnerUp ? `, next ${score(face.runnerUp)}` : '';
    if (face.person && face.best) return `Face ${i + 1}: ${score(face.best)}${next}.`;
    if (!face.best) return `Face ${i + 1}: nobody enrolled is close.`;
    const why = face.best.similarity < threshold ? `below the threshold ${threshold.toFixed(2)}` : 'named on another face, or too close to call';
    return `Face ${i + 1}: not named; closest ${score(face.best)}${next} (${why}).`;
  });
}

export function photoError(result: IngestResult | { readonly kind: 'failed' }): string | undefined {
  if (result.kind === 'undecodable') return `I can't read this photo: ${DECODE_FAILURE_MESSAGES[result.reason]}.`;
  if (result.kind === 'failed') return "I couldn't file this photo after several tries. It is kept safe for the bot's owner; please send it again later.";
  return undefined;
}

/** `me`: the caller enrolled their own face, so the way to answer is `/enroll me`, not their name. */
export function enrollReply(result: EnrollResult, asked: { readonly name: string; readonly me: boolean }, syntax: Syntax): string {
  const name = asked.name;
  switch (result.kind) {
    case 'enrolled': {
      const first = result.newPerson
        ? `${result.person.name} is enrolled.`
        : `Added another photo of ${result.person.name} (${count(result.samples, 'sample')}).`;
      const filed = result.refiled === 0 ? 'No earlier photos of them yet.' : `Filed ${count(result.refiled, 'earlier photo')} under ${result.person.name}.`;
      return [first, filed, ...result.advice.map((advice) => describeAdvice(advice, result.person.name))].join(' ');
    }
    case 'already-a-sample':
      return `That photo is already one of ${result.person.name}'s samples (${count(result.samples, 'sample')}).`;
    case 'choose-face':
      return `I see ${result.faces} faces${result.likely !== undefined ? `; ${name} is probably number ${result.likely}` : ''}. Which one is ${name}? Answer with ${syntax.command('enroll', asked.me ? { me: 'me', face: '<number>' } : { name, face: '<number>' })}, ${syntax.onPostedPhoto}.`;
    case 'no-usable-face':
      return result.reason === 'no-face'
        ? "I can't find a face in this photo."
        : result.reason === 'too-small'
          ? 'The face is too small to learn from; try a closer photo.'
          : 'The face is too unclear to learn from; try a sharper photo.';
    case 'no-such-face':
      return `There is no face with that number: pick 1 to ${result.faces}.`;
    case 'undecodable':
      return `I can't read this photo: ${DECODE_FAILURE_MESSAGES[result.reason]}.`;
    case 'unknown-photo':
      return `I don't have that photo any more; send it again with ${syntax.command('enroll', asked.me ? { me: 'me' } : { name })}.`;
    case 'invalid-name':
      return nameRefused(result.reason, `Give a name: ${syntax.command('enroll', { name: '<name>' })}, ${syntax.withPhoto}.`);
    case 'name-taken':
      return `${result.person.name} is already enrolled here, and I never link an account to someone already enrolled. If that is you, ask an admin.`;
    case 'not-allowed':
      return notAllowed(result.person.name);
    case 'confusable-name':
      return confusable(result.person.name);
    case 'someone-else':
      return `That face looks like ${result.person.name}, who is enrolled here: I won't add it to ${asked.me ? 'you' : name}. An admin or ${result.person.name} can.`;
  }
}

export function peopleReply(people: readonly PersonSummary[], syntax: Syntax): string {
  if (people.length === 0) return `Nobody is enrolled yet. Enroll someone with ${syntax.command('enroll', { name: '<name>' })}, ${syntax.withPhoto}.`;
  return ['Enrolled:', ...people.map((p) => `• ${p.name}: ${count(p.photos, 'photo')}, ${count(p.samples, 'sample')}${p.linkedUser ? ' (linked)' : ''}`)].join(
    '\n',
  );
}

export function unknownPeopleReply(people: readonly string[], name?: string): string {
  const which = name === undefined ? 'that name' : `"${name.length > 64 ? `${name.slice(0, 64)}…` : name}"`;
  return people.length === 0 ? 'Nobody is enrolled yet.' : `I don't know ${which}. Enrolled: ${people.join(', ')}.`;
}

export function albumEmptyReply(name: string): string {
  return `${name}'s album is empty so far.`;
}

/** Nothing shows them all in the period (`title`: "Anna + Ben, 2024"). */
export function albumNoneReply(title: string): string {
  return `No photos of ${title} so far.`;
}

/** How to write /album, after what was wrong with it. */
export function albumUsageReply(error: AlbumArgsError, syntax: Syntax): string {
  const why: Record<AlbumArgsError, string> = {
    'too-long': 'That is too long for names and a period.',
    'no-name': 'Whose album?',
    'empty-name': 'A name is missing between the + signs.',
    'too-many-people': `At most ${MAX_ALBUM_PEOPLE} people together.`,
    'bad-period': "I can't read that period: a year 2024, a month 2024-05, a day 2024-05-17, or a range 2023..2024 (oldest first).",
  };
  return `${why[error]} ${syntax.command('album', { name: '<name> + <name>', period: '2024' })}, ${syntax.command('album', { name: '<name>', period: '2023..2024' })}.`;
}

/** Asked as photos, but too many: they come as zips. */
export function albumTooManyPhotosReply(title: string, photos: number): string {
  return `${title}: ${count(photos, 'photo')}, more than the ${MAX_ALBUM_PHOTOS} I send as photos, so they come as zip files.`;
}

export function albumHiddenReply(name: string, hidden: number): string {
  return `${count(hidden, 'photo')} of ${name} ${hidden === 1 ? 'was' : 'were'} posted where you cannot look, so ${hidden === 1 ? 'it is' : 'they are'} left out.`;
}

export function albumTooLargeReply(names: readonly string[], limitBytes: number): string {
  return `${count(names.length, 'photo')} ${names.length === 1 ? 'is' : 'are'} larger than ${megabytes(limitBytes)} and could not be sent: ${names.join(', ')}.`;
}

export function thresholdReply(threshold: number): string {
  return `The match threshold is ${threshold.toFixed(3)}. Higher means fewer, surer matches (allowed: ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max}).`;
}

export function setThresholdReply(result: SetThresholdResult): string {
  if (result.kind === 'out-of-range') return `The threshold must be a number from ${result.min} to ${result.max}.`;
  return `Threshold set to ${result.threshold.toFixed(3)} (was ${result.previous.toFixed(3)}). ${changesText(result)}`;
}

export function thresholdReportCaption(report: ThresholdReport): string {
  const lines = [`Threshold ${report.threshold.toFixed(3)}; ${report.samePairs} same-person and ${report.differentPairs} different-person comparisons.`];
  if (report.proposed) lines.push(`At ${report.proposed.threshold.toFixed(3)}: ${changesText(report.proposed)}`);
  return lines.join('\n');
}

function changesText(changes: { photosChanged: number; filed: number; unfiled: number }): string {
  if (changes.photosChanged === 0) return 'No photo moves.';
  return `${count(changes.photosChanged, 'photo')} ${changes.photosChanged === 1 ? 'moves' : 'move'}: ${changes.filed} filed, ${changes.unfiled} taken out.`;
}

export function unknownReply(result: UnknownClustersResult, syntax: Syntax): string {
  if (result.clusters.length === 0) return `No unknown face has turned up in ${result.minPhotos} or more photos yet.`;
  const lines = result.clusters.slice(0, 30).map((c) => `#${c.id}: ${count(c.photos, 'photo')}`);
  return [
    `Faces that keep turning up (in ${result.minPhotos}+ photos):`,
    ...lines,
    `Name one with ${syntax.command('name', { cluster: '<number>', name: '<name>' })}.`,
  ].join('\n');
}

export function nameClusterReply(result: NameClusterResult, syntax: Syntax): string {
  switch (result.kind) {
    case 'named':
      return `${result.person.name} ${result.newPerson ? 'is enrolled' : 'got more samples'}; filed ${count(result.filed, 'photo')}.`;
    case 'unknown-cluster':
      return result.clusters.length === 0
        ? `No unknown faces listed: run ${syntax.command('unknown')} first.`
        : `No such number; run ${syntax.command('unknown')} again (numbers: ${result.clusters.join(', ')}).`;
    case 'not-allowed':
      return notAllowed(result.person.name);
    case 'confusable-name':
      return confusable(result.person.name);
    case 'invalid-name':
      return nameRefused(result.reason, `Give a name: ${syntax.command('name', { cluster: '<number>', name: '<name>' })}.`);
  }
}

export function notThisReply(result: NotThisResult): string {
  switch (result.kind) {
    case 'removed':
      return `Taken out of ${result.person.name}'s album; it won't be filed there again.${result.nowFiledUnder.length > 0 ? ` Now filed under ${list(result.nowFiledUnder.map((p) => p.name))}.` : ''}`;
    case 'not-in-album':
      return `That photo is not in ${result.person.name}'s album.`;
    case 'not-allowed':
      return notAllowed(result.person.name);
    case 'unknown-person':
      return unknownPeopleReply(result.people);
    case 'unknown-photo':
      return "I don't have that photo.";
  }
}

export function forgetReply(result: ForgetResult, setAsideDeleted = 0): string {
  switch (result.kind) {
    case 'forgotten': {
      const setAside =
        result.scope === 'everything'
          ? `the ${count(setAsideDeleted, 'photo')} of this group I could not file`
          : `the ${count(setAsideDeleted, 'photo')} you posted that I could not file`;
      return setAsideDeleted > 0 ? `${forgottenReply(result)} Also deleted: ${setAside}.` : forgottenReply(result);
    }
    case 'unknown-person':
      return unknownPeopleReply(result.people);
    case 'not-enrolled':
      return "You aren't enrolled here, so there is nothing of yours to forget.";
  }
}

/** What a forget deleted, and what it left (the group's photos, on a member's own forget). */
function forgottenReply(result: Extract<ForgetResult, { kind: 'forgotten' }>): string {
  const forgotten = `${result.person.name} is forgotten, for good: their face samples, every stored face of theirs, their album and link are deleted`;
  switch (result.scope) {
    case 'everything':
      return `${forgotten}, with ${count(result.photosDeleted, 'photo')} only their album held. This cannot be undone.`;
    case 'self':
      return `${forgotten}. The photos stay in the group's archive; "forget me photos" also deletes the ones you posted. This cannot be undone.`;
    case 'self-and-posts':
      return `${forgotten}, with the ${count(result.photosDeleted, 'photo')} you posted. This cannot be undone.`;
  }
}

/** `deadLetters`: photos that could not be filed after every try, kept aside for the owner. */
export function statsReply(stats: LibraryStats, deadLetters = 0): string {
  return [
    `Photos: ${stats.photos}`,
    `Faces: ${stats.faces} (${stats.unknownFaces} not yet recognised)`,
    `People: ${stats.people}`,
    `Unknown faces that keep turning up: ${stats.unknownClusters}`,
    `Disk: ${megabytes(stats.diskBytes)}`,
    ...(deadLetters > 0 ? [`Photos I could not file (kept for the bot's owner): ${deadLetters}`] : []),
    ...(stats.redescribing
      ? [
          `Re-describing faces for a new recognition model: ${stats.redescribing.done.toLocaleString('en')} of ${stats.redescribing.of.toLocaleString('en')} photos`,
        ]
      : []),
    ...(stats.withoutSamples ? [`To be recognised, these people must enroll again: ${stats.withoutSamples.join(', ')}`] : []),
    ...(stats.importing ?? []).map(importingLine),
  ].join('\n');
}

/** `Importing history: 1,240 of 5,000 photos (12/min, about 5 h left)`: the figures the importer shows. */
function importingLine(status: ImportStatus): string {
  const photos = `${number(status.photos)}${status.of === undefined ? '' : ` of ${number(status.of)}`} photo${(status.of ?? status.photos) === 1 ? '' : 's'}`;
  const channels = status.channels ? `, ${status.channels.read} of ${count(status.channels.of, 'channel')} read` : '';
  if (status.paused) return `Importing history: ${photos}${channels}, stopped half way; running the import again goes on from there`;
  if (status.stalledMinutes !== undefined)
    return `Importing history: ${photos}${channels}, no progress for ${formatDuration(status.stalledMinutes * 60)}; if the import was stopped, running it again goes on from there`;
  const rate = status.perMinute === undefined ? undefined : `${status.perMinute < 10 ? status.perMinute.toFixed(1) : number(Math.round(status.perMinute))}/min`;
  const left = status.secondsLeft === undefined ? undefined : `about ${formatDuration(status.secondsLeft)} left`;
  const pace = [rate, left].filter((part) => part !== undefined).join(', ');
  return `Importing history: ${photos}${channels}${pace ? ` (${pace})` : ''}`;
}

/** The audit log, one line an entry: when, who, what. */
export function auditReply(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return 'Nothing has been changed here yet.';
  const lines = entries.map((e) => `${e.at.slice(0, 16).replace('T', ' ')} UTC · ${e.byName ?? e.by ?? 'facefile'} · ${e.detail}`);
  return [`The last ${count(entries.length, 'change')}, newest first:`, ...lines].join('\n');
}

export const NOT_ADMIN = "Only the group's admins can do that.";
export const DOWNLOAD_FAILED = "I couldn't download this photo, so it is not filed; please send it again.";
export const WHO_ARE_YOU = 'I cannot tell who you are here.';
export const BUSY = 'Something went wrong on my side; please try again in a moment.';
/** A costly command asked for again in a group while it runs there. */
export function stillRunning(command: string): string {
  return `${command} is already running in this group; please try again once it has answered.`;
}

/** A costly command asked for again in a group too soon after it ran there. */
export function tryAgainIn(command: string, seconds: number): string {
  return `${command} ran here a moment ago; please try again in ${seconds} s.`;
}

/** A photo the queue refused: too many are waiting (in all, or of this group). */
export const QUEUE_FULL = 'Too many photos are waiting to be filed, so I did not take this one; please post it again in a few minutes.';

/** Why a typed name was not taken; `empty` says how to give one. */
function nameRefused(reason: NameRefusal, empty: string): string {
  switch (reason) {
    case 'empty':
      return empty;
    case 'too-long':
      return `That name is too long (at most ${MAX_NAME_LENGTH} characters).`;
    case 'invisible':
      return 'That name has a blank character that shows nothing (a Braille blank or a Hangul filler, say): type it without.';
  }
}

/** What the bot does and stores, with the commands as this platform writes them. */
export function helpText(syntax: Syntax, eraseAfterDays: number): string {
  const cmd = syntax.command;
  return [
    'I file the photos posted here into one album per person, by face.',
    '',
    `${cmd('enroll', { name: '<name>' })}: ${syntax.withPhoto}; teaches me that person's face. ${syntax.enrollMe} links the face to you.`,
    `${cmd('album', { name: '<name>' })}: that person's photos, as zip files. ${cmd('album', { name: '<name> + <name>', period: '2024', photos: 'photos' })}: only the photos of both, posted in 2024 (or 2024-05, 2023..2024), as photos if there are up to ${MAX_ALBUM_PHOTOS}.`,
    `${cmd('people')}: who is enrolled. ${cmd('unknown')}: faces that keep turning up; ${cmd('name', { cluster: '<number>', name: '<name>' })} names one.`,
    `${syntax.notThis}: takes a photo out of the wrong person's album.`,
    `${cmd('stats')}, ${cmd('help')}. Admins: ${cmd('threshold')}, ${cmd('threshold', { value: '<value>' })}, ${cmd('threshold', { report: 'report' })}, ${cmd('settings')}, ${cmd('forget', { name: '<name>' })}, ${cmd('audit')} (who changed what).`,
    `${cmd('forget', { name: 'me' })}: deletes your face data, album and link, for good; the group's photos stay. ${cmd('forget', { name: 'me photos' })} also deletes the photos you posted.`,
    "A person linked to a member (enrolled with 'me') can be changed or forgotten only by that member or an admin. A face that already looks like someone enrolled becomes another person's only by an admin or by them.",
    '',
    "What I store, on the machine that runs me and nowhere else: the photos posted here, the faces found in them (as numbers that describe a face), and the names you give. This group's people and albums are seen only here.",
    `If I am removed from this group, everything I stored for it is erased ${eraseAfterDays === 0 ? 'at once' : `after ${count(eraseAfterDays, 'day')}`}, unless I am added back before then.`,
    syntax.seeing,
  ].join('\n');
}

function notAllowed(name: string): string {
  return `${name} is linked to a member's account: only they or an admin can change ${name}'s face samples or album.`;
}

function confusable(name: string): string {
  return `That name looks too much like ${name}. Write it exactly as ${name} to mean them, or choose a clearly different name.`;
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A large number as people read it: 5,000. */
function number(n: number): string {
  return n.toLocaleString('en');
}

/** "3 MB", "2.5 MB", "48 MB": one decimal below 10 MB, and none where it would be ".0". */
export function megabytes(bytes: number): string {
  const mb = bytes / 1_000_000;
  return `${mb < 10 ? Number(mb.toFixed(1)) : Math.round(mb)} MB`;
}

export function galleryOffReply(): string {
  return "The gallery is not set up for this bot. Its operator turns it on with PUBLIC_URL (see the operator's guide); until then, /album sends albums as zip files.";
}

export function galleryReply(url: string, personal: boolean): string {
  return personal
    ? `Your gallery of this server's photos (this link is yours: it works for 15 minutes, then ask again):\n${url}`
    : `The group's photos, by person:\n${url}`;
}
