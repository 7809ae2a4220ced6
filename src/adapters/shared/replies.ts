import { DECODE_FAILURE_MESSAGES } from '../../core/index.ts';
import type {
  EnrollResult,
  ForgetResult,
  IngestResult,
  LibraryStats,
  NameClusterResult,
  NotThisResult,
  PersonSummary,
  SetThresholdResult,
  ThresholdReport,
  UnknownClustersResult,
} from '../../core/library/index.ts';
import { MAX_NAME_LENGTH, THRESHOLD_RANGE } from '../../core/library/index.ts';

/**
 * The words the bots answer with, the same on every platform. `cmd` is how a command is written
 * where the user reads it ("/enroll" on both Telegram and Discord).
 */

export function ingestSummary(result: IngestResult): string | undefined {
  switch (result.kind) {
    case 'filed': {
      const parts: string[] = [];
      if (result.people.length > 0) parts.push(`Filed under ${list(result.people.map((p) => p.name))}.`);
      if (result.unknownFaces > 0) parts.push(`${count(result.unknownFaces, 'face')} I don't know.`);
      if (result.unusableFaces > 0) parts.push(`${count(result.unusableFaces, 'face')} too small or unclear to tell.`);
      return parts.length > 0 ? parts.join(' ') : 'No faces in this photo.';
    }
    case 'duplicate':
      return 'I have this photo already.';
    case 'undecodable':
      return `I can't read this photo: ${DECODE_FAILURE_MESSAGES[result.reason]}.`;
  }
}

export function photoError(result: IngestResult | { readonly kind: 'failed' }): string | undefined {
  if (result.kind === 'undecodable') return `I can't read this photo: ${DECODE_FAILURE_MESSAGES[result.reason]}.`;
  if (result.kind === 'failed') return "Something went wrong while filing this photo; I'll try again later.";
  return undefined;
}

export function enrollReply(result: EnrollResult, name: string): string {
  switch (result.kind) {
    case 'enrolled': {
      const first = result.newPerson ? `${result.person.name} is enrolled.` : `Added another photo of ${result.person.name} (${count(result.samples, 'sample')}).`;
      return `${first} ${result.refiled === 0 ? 'No earlier photos of them yet.' : `Filed ${count(result.refiled, 'earlier photo')} under ${result.person.name}.`}`;
    }
    case 'choose-face':
      return `I see ${result.faces} faces. Which one is ${name}? Answer with /enroll ${name} <number>, replying to the photo.`;
    case 'no-usable-face':
      return result.reason === 'no-face' ? "I can't find a face in this photo." : result.reason === 'too-small' ? 'The face is too small to learn from; try a closer photo.' : 'The face is too unclear to learn from; try a sharper photo.';
    case 'no-such-face':
      return `There is no face with that number: pick 1 to ${result.faces}.`;
    case 'undecodable':
      return `I can't read this photo: ${DECODE_FAILURE_MESSAGES[result.reason]}.`;
    case 'unknown-photo':
      return "I don't have that photo any more; send it again with the command as its caption.";
    case 'invalid-name':
      return result.reason === 'empty' ? 'Give a name: /enroll <name>, as the caption of a photo or a reply to one.' : `That name is too long (at most ${MAX_NAME_LENGTH} characters).`;
    case 'user-linked-elsewhere':
      return `That account is already linked to ${result.person.name}.`;
  }
}

export function peopleReply(people: readonly PersonSummary[]): string {
  if (people.length === 0) return 'Nobody is enrolled yet. Send a photo of someone with the caption /enroll <name>.';
  return ['Enrolled:', ...people.map((p) => `• ${p.name}: ${count(p.photos, 'photo')}, ${count(p.samples, 'sample')}${p.linkedUser ? ' (linked)' : ''}`)].join('\n');
}

export function unknownPeopleReply(people: readonly string[]): string {
  return people.length === 0 ? 'Nobody is enrolled yet.' : `I don't know that name. Enrolled: ${people.join(', ')}.`;
}

export function albumEmptyReply(name: string): string {
  return `${name}'s album is empty so far.`;
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

export function unknownReply(result: UnknownClustersResult): string {
  if (result.clusters.length === 0) return `No unknown face has turned up in ${result.minPhotos} or more photos yet.`;
  const lines = result.clusters.slice(0, 30).map((c) => `#${c.id}: ${count(c.photos, 'photo')}`);
  return [`Faces that keep turning up (in ${result.minPhotos}+ photos):`, ...lines, 'Name one with /name <number> <name>.'].join('\n');
}

export function nameClusterReply(result: NameClusterResult): string {
  switch (result.kind) {
    case 'named':
      return `${result.person.name} ${result.newPerson ? 'is enrolled' : 'got more samples'}; filed ${count(result.filed, 'photo')}.`;
    case 'unknown-cluster':
      return result.clusters.length === 0 ? 'No unknown faces listed: run /unknown first.' : `No such number; run /unknown again (numbers: ${result.clusters.join(', ')}).`;
    case 'invalid-name':
      return result.reason === 'empty' ? 'Give a name: /name <number> <name>.' : `That name is too long (at most ${MAX_NAME_LENGTH} characters).`;
  }
}

export function notThisReply(result: NotThisResult): string {
  switch (result.kind) {
    case 'removed':
      return `Taken out of ${result.person.name}'s album; it won't be filed there again.${result.nowFiledUnder.length > 0 ? ` Now filed under ${list(result.nowFiledUnder.map((p) => p.name))}.` : ''}`;
    case 'not-in-album':
      return `That photo is not in ${result.person.name}'s album.`;
    case 'unknown-person':
      return unknownPeopleReply(result.people);
    case 'unknown-photo':
      return "I don't have that photo.";
  }
}

export function forgetReply(result: ForgetResult): string {
  switch (result.kind) {
    case 'forgotten':
      return `${result.person.name} is forgotten: their face samples, album and link are deleted, with ${count(result.photosDeleted, 'photo')} only their album held.`;
    case 'unknown-person':
      return unknownPeopleReply(result.people);
    case 'not-enrolled':
      return "You aren't enrolled here, so there is nothing of yours to forget.";
  }
}

export function statsReply(stats: LibraryStats): string {
  return [
    `Photos: ${stats.photos}`,
    `Faces: ${stats.faces} (${stats.unknownFaces} not yet recognised)`,
    `People: ${stats.people}`,
    `Unknown faces that keep turning up: ${stats.unknownClusters}`,
    `Disk: ${megabytes(stats.diskBytes)}`,
  ].join('\n');
}

export const NOT_ADMIN = 'Only the group\'s admins can do that.';
export const BUSY = 'Something went wrong on my side; please try again in a moment.';

/** What the bot does and stores; `seeing` says how the platform lets it see photos. */
export function helpText(seeing: string): string {
  return [
    'I file the photos posted here into one album per person, by face.',
    '',
    '/enroll <name>: as the caption of a photo of that person (or a reply to one). /enroll me links you.',
    '/album <name>: that person\'s photos, as zip files.',
    '/people: who is enrolled. /unknown: faces that keep turning up; /name <number> <name> names one.',
    '/notthis <name>: as a reply to a photo filed under the wrong person.',
    '/stats, /help. Admins: /threshold, /threshold <value>, /threshold report, /settings, /forget <name>.',
    '/forget me: deletes everything stored about you.',
    '',
    'What I store, on the machine that runs me and nowhere else: the photos posted here, the faces found in them (as numbers that describe a face), and the names you give. This group\'s people and albums are seen only here.',
    seeing,
  ].join('\n');
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;
}
