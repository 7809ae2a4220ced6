import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { StartupError, describeError, groupId, memberId, parseGroupId, safeFolderName, type GroupId, type Log } from '../../core/index.ts';
import { THRESHOLD_RANGE } from '../../core/library/index.ts';
import type { Actor, BrowseQuery, EnrollResult, NameClusterResult, PhotoLibrary, PreviewFace, SourceFilter } from '../../core/library/index.ts';
import { CONTENT_TYPES, loadPageFiles, readJson } from '../http.ts';
import type { PreviewRenderer } from './previews.ts';
import { checkLaunchData, type Signer } from './signing.ts';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
/**
 * Only the gallery's own files run; images also come from blob: URLs (the page fetches them with
 * its session header); Telegram's web client may frame it, nobody else.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'self' https://web.telegram.org; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};
const MAX_BODY_BYTES = 16 * 1024;
/** How long a session lasts before the page must refresh it, which checks membership again. */
export const SESSION_SECONDS = 10 * 60;
/** How long a member's check is trusted within a session: someone who left loses access within it. */
const MEMBER_CACHE_MS = 60_000;
/** Launch data older than this is refused (Telegram's client makes fresh data at every opening). */
const LAUNCH_MAX_AGE_SECONDS = 24 * 60 * 60;
const PAGE_LIMIT = 60;
/** A download link is used at once: the browser follows it as soon as it has it. */
const DOWNLOAD_SECONDS = 120;
const HASH = /^[0-9a-f]{64}$/;
const PERSON_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FACE_INDEX = /^\d{1,3}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** What the gallery reads of the library, and the corrections it makes (each with the chat's rules and audit). */
export type GalleryLibrary = Pick<
  PhotoLibrary,
  | 'people'
  | 'covers'
  | 'albumDownload'
  | 'unknownPeople'
  | 'suggestions'
  | 'settings'
  | 'auditLog'
  | 'thresholdReport'
  | 'setThreshold'
  | 'enroll'
  | 'dismissSuggestion'
  | 'nameCluster'
  | 'browse'
  | 'browsePhoto'
  | 'browseOpened'
  | 'browsePreview'
  | 'browseOriginal'
  | 'notThis'
>;

/**
 * Whether `userId` (the platform's own id) is a member of the group now, and what of it they may
 * see (Discord's channel walls); undefined when they are not a member. The adapters answer it.
 */
export type MemberCheck = (group: GroupId, userId: string) => Promise<GalleryMember | undefined>;

/** A member as the platform answers: what they may see, and whether they are one of the group's admins. */
export interface GalleryMember {
  readonly canSee?: SourceFilter;
  readonly admin?: boolean;
}

export interface GalleryOptions {
  readonly library: GalleryLibrary;
  readonly previews: PreviewRenderer;
  readonly signer: Signer;
  readonly log: Log;
  readonly port: number;
  readonly host: string;
  /** Present when Telegram is configured: its token checks launch data. */
  readonly telegram?: { readonly token: string; readonly members: MemberCheck };
  readonly discord?: { readonly members: MemberCheck };
  /** For tests; Date.now otherwise. */
  readonly now?: () => number;
}

export interface GalleryServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A session: which group, who (the platform's id), their name; signed, and short-lived. */
interface Session {
  readonly group: GroupId;
  readonly user: string;
  readonly name: string;
}

interface Asked {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
}

interface Member extends Asked {
  readonly session: Session;
  readonly canSee: SourceFilter | undefined;
  readonly admin: boolean;
  /** Who a correction is made by, as the chat's commands name them: the rules and the audit log read it. */
  readonly actor: Actor & { readonly userId: string; readonly name: string };
}

/** Where the page opens, with the signed Discord link in the fragment (never sent to a server's log). */
export function discordGalleryLink(publicUrl: string, signer: Signer, group: GroupId, user: { id: string; name: string }, now = Date.now()): string {
  const token = signer.sign('link', { g: group, u: user.id, n: user.name, exp: Math.floor(now / 1000) + 15 * 60 });
  return `${publicUrl.replace(/\/+$/, '')}/#link=${token}`;
}

/**
 * The group gallery's web server (node:http, behind the operator's https reverse proxy). A page
 * opened from Telegram brings its signed launch data, one opened from Discord a signed link for one
 * member; either becomes a short session token after the member's membership is checked, and every
 * request after carries it (a header, not a cookie: nothing a third site can make the browser send,
 * and it works inside Telegram's frame). The group is the session's, never the URL's; each answer
 * holds only what that member may see.
 */
export async function startGalleryServer(options: GalleryOptions): Promise<GalleryServer> {
  const { library, previews, signer, log } = options;
  const now = options.now ?? Date.now;
  const files = await loadPageFiles(PUBLIC_DIR);
  const checked = new Map<string, { at: number; member: GalleryMember | undefined }>();

  /** Asks the platform, or within a session trusts its answer of the last minute; `fresh` always asks. */
  const checkMember = async (group: GroupId, user: string, fresh = false): Promise<GalleryMember | undefined> => {
    const key = `${group}\0${user}`;
    const hit = checked.get(key);
    if (!fresh && hit && now() - hit.at < MEMBER_CACHE_MS) return hit.member;
    const platform = parseGroupId(group)?.platform;
    const members = platform === undefined ? undefined : options[platform]?.members;
    const member = members ? await members(group, user) : undefined;
    checked.set(key, { at: now(), member });
    if (checked.size > 10_000) checked.delete(checked.keys().next().value!);
    return member;
  };

  const issue = (session: Session) => ({
    token: signer.sign('session', { g: session.group, u: session.user, n: session.name, exp: Math.floor(now() / 1000) + SESSION_SECONDS }),
    expiresIn: SESSION_SECONDS,
    name: session.name,
  });

  const sessionOf = (req: IncomingMessage): Session | undefined => {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header)?.[1];
    const payload = token === undefined ? undefined : signer.open('session', token, now());
    return payload && sessionFrom(payload);
  };

  const open = (body: { initData?: string | undefined; link?: string | undefined }): { session: Session } | { status: number; error: string } => {
    if (body.initData !== undefined) {
      if (!options.telegram) return { status: 400, error: 'this gallery is not open to Telegram' };
      const launch = checkLaunchData(body.initData, options.telegram.token, { maxAgeSeconds: LAUNCH_MAX_AGE_SECONDS, now: now() });
      if (!launch.ok)
        return {
          status: 401,
          error: launch.reason === 'expired' ? 'this link has expired: open the gallery again from the chat' : 'the launch data is not valid',
        };
      const chat = /^(-?\d{1,20})$/.exec(launch.startParam ?? '')?.[1];
      if (chat === undefined || !Number.isSafeInteger(Number(chat))) return { status: 400, error: 'open the gallery with /gallery in your group' };
      return { session: { group: groupId({ platform: 'telegram', chatId: Number(chat) }), user: String(launch.user.id), name: launch.user.name } };
    }
    if (body.link !== undefined) {
      const payload = signer.open('link', body.link, now());
      const session = payload && sessionFrom(payload);
      if (!session || parseGroupId(session.group)?.platform !== 'discord')
        return { status: 401, error: 'this link is not valid or has expired: ask /gallery again' };
      return { session };
    }
    return { status: 400, error: 'expected { initData } or { link }' };
  };

  const routes: Record<string, ((asked: Asked) => Promise<void>) | undefined> = {
    // The zip a download ticket names, streamed as it is made, with the member and walls checked
    // now, as for every other answer.
    'GET /api/zip': async ({ res, url }) => {
      const payload = signer.open('download', url.searchParams.get('ticket') ?? '', now());
      const session = payload && sessionFrom(payload);
      const query = typeof payload?.['q'] === 'string' ? photoQuery(new URLSearchParams(payload['q'])) : undefined;
      if (!session || !query || 'error' in query) return json(res, 401, { error: 'this download link has expired: ask for it again' });
      const member = await checkMember(session.group, session.user);
      if (!member) return json(res, 403, { error: 'only members of the group can see its gallery' });
      const period = query.from !== undefined || query.to !== undefined ? { period: periodOf(query) } : {};
      const download = await library.albumDownload(session.group, { people: query.people, byId: true, ...period }, member.canSee);
      if (download.kind !== 'download') return json(res, 404, { error: 'no photos to download' });
      const name = safeFolderName(download.title, 'album');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}.zip"; filename*=UTF-8''${encodeURIComponent(name)}.zip`,
      });
      try {
        await download.write(res);
      } catch (error) {
        // A download cancelled half way is the member's choice, not a failure of the server.
        if (!res.destroyed) throw error;
        log.info({ err: describeError(error) }, 'gallery: a download ended before its zip was complete');
      }
    },
    'POST /api/session': async ({ req, res }) => {
      const body = await readJson(req, z.object({ initData: z.string().max(8192).optional(), link: z.string().max(4096).optional() }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { initData } or { link }' });
      const opened = open(body);
      if ('error' in opened) return json(res, opened.status, { error: opened.error });
      const member = await checkMember(opened.session.group, opened.session.user, true);
      if (!member) return json(res, 403, { error: 'only members of the group can see its gallery' });
      json(res, 200, issue(opened.session));
    },
  };

  const memberRoutes: Record<string, ((asked: Member) => Promise<void>) | undefined> = {
    // A fresh token for a session that is still valid, after membership is checked again.
    'POST /api/refresh': async ({ res, session }) => {
      if (!(await checkMember(session.group, session.user, true))) return json(res, 403, { error: 'only members of the group can see its gallery' });
      json(res, 200, issue(session));
    },
    // For the group's admins: the threshold, what a new value would move, and the audit log.
    'GET /api/admin': async ({ res, session, admin }) => {
      if (!admin) return json(res, 403, { error: "only the group's admins can see this" });
      const [settings, entries] = await Promise.all([library.settings(session.group), library.auditLog(session.group, 50)]);
      json(res, 200, {
        threshold: settings.threshold,
        range: THRESHOLD_RANGE,
        audit: entries.map(({ at, byName, action, detail }) => ({ at, byName, action, detail })),
      });
    },
    'GET /api/threshold': async ({ res, url, session, admin }) => {
      if (!admin) return json(res, 403, { error: "only the group's admins can see this" });
      const value = Number(url.searchParams.get('value'));
      if (!Number.isFinite(value) || value < THRESHOLD_RANGE.min || value > THRESHOLD_RANGE.max)
        return json(res, 400, { error: `value= a threshold from ${THRESHOLD_RANGE.min} to ${THRESHOLD_RANGE.max}` });
      const report = await library.thresholdReport(session.group, value);
      // The plot as base64 in the answer: one computation, and the page shows it from a blob.
      json(res, 200, {
        threshold: report.threshold,
        proposed: report.proposed,
        samePairs: report.samePairs,
        differentPairs: report.differentPairs,
        plot: Buffer.from(report.plot).toString('base64'),
      });
    },
    'POST /api/threshold': async ({ req, res, session, admin, actor }) => {
      if (!admin) return json(res, 403, { error: "only the group's admins can change this" });
      const body = await readJson(req, z.object({ value: z.number() }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { value }' });
      const result = await library.setThreshold(session.group, body.value, actor);
      if (result.kind !== 'set') return json(res, 400, { error: `a threshold from ${result.min} to ${result.max}` });
      json(res, 200, result);
    },
    'GET /api/people': async ({ res, session, canSee, admin }) => {
      const everyone = await library.people(session.group, canSee);
      const people = everyone.filter((p) => p.photos > 0);
      const covers = await library.covers(
        session.group,
        people.map((p) => p.id),
        canSee,
      );
      const shown = people.map((p) => {
        const cover = covers.get(p.id);
        return { id: p.id, name: p.name, photos: p.photos, ...(cover ? { cover } : {}) };
      });
      // Every name, with or without photos: naming a face asks first before it joins one of them.
      json(res, 200, { me: session.name, admin, people: shown, names: everyone.map((p) => p.name) });
    },
    'GET /api/photos': async ({ res, url, session, canSee }) => {
      const query = photoQuery(url.searchParams);
      if ('error' in query) return json(res, 400, query);
      const offset = Math.max(0, Math.floor(Number(url.searchParams.get('offset') ?? 0)) || 0);
      const limit = Math.min(PAGE_LIMIT, Math.max(1, Math.floor(Number(url.searchParams.get('limit') ?? PAGE_LIMIT)) || PAGE_LIMIT));
      const page = await library.browse(session.group, query, { offset, limit }, canSee);
      json(res, 200, { ...page, ...(offset + page.photos.length < page.total ? { next: offset + page.photos.length } : {}) });
    },
    // A link for downloading the photos of a page (a person, "with", a period) as one zip: a plain
    // GET the browser saves itself (a fetch would hold the whole zip in the phone's memory), so it
    // carries its own short-lived signed ticket for this member, this group and this filter.
    'POST /api/download': ({ res, url, session }) => {
      const query = photoQuery(url.searchParams);
      if ('error' in query) json(res, 400, query);
      else {
        const ticket = signer.sign('download', {
          g: session.group,
          u: session.user,
          n: session.name,
          q: url.searchParams.toString(),
          exp: Math.floor(now() / 1000) + DOWNLOAD_SECONDS,
        });
        json(res, 200, { url: `/api/zip?ticket=${ticket}` });
      }
      return Promise.resolve();
    },
    'GET /api/photo': async ({ res, url, session, canSee }) => {
      const hash = url.searchParams.get('hash') ?? '';
      if (!HASH.test(hash)) return json(res, 400, { error: 'hash= a photo hash' });
      const opened = await library.browseOpened(session.group, hash, canSee);
      if (!opened) return json(res, 404, { error: 'no such photo' });
      // The faces' boxes are in these pixels: the page scales them to the view it shows.
      json(res, 200, { ...opened.photo, ...(await previews.size(opened.original)) });
    },
    // "Not this person" on a face of an opened photo: the chat's /notthis, with its rules (a
    // member's linked person is theirs and the admins') and its audit entry.
    'POST /api/notthis': async ({ req, res, session, canSee, actor }) => {
      const body = await readJson(req, z.object({ hash: z.string().regex(HASH), person: z.string().regex(PERSON_ID) }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { hash, person }' });
      const photo = await library.browsePhoto(session.group, body.hash, canSee);
      const face = photo?.faces.find((f) => f.person?.id === body.person);
      if (!photo || !face?.person) return json(res, 404, { error: 'that face is not named so on this photo any more: look again' });
      const result = await library.notThis(session.group, face.person.name, { hash: body.hash }, actor);
      if (result.kind === 'not-allowed')
        return json(res, 403, { error: `${result.person.name} is linked to a member: only they or an admin can take photos out of their album` });
      if (result.kind !== 'removed') return json(res, 409, { error: 'the photo changed: look again' });
      json(res, 200, { removed: result.person, nowFiledUnder: result.nowFiledUnder });
    },
    // The faces that keep appearing among the photos this member may see (clustered anew, as
    // the chat's /unknown does: a few seconds at tens of thousands of unknown faces).
    'GET /api/unknown': async ({ res, session, canSee }) => {
      const found = await library.unknownPeople(session.group, canSee);
      json(res, 200, {
        clusters: found.clusters.map((c) => ({
          id: c.id,
          photos: c.photos,
          face: { hash: c.face.photoHash, index: c.face.faceIndex },
          faces: c.faces.map((f) => ({ hash: f.photoHash, index: f.faceIndex })),
        })),
        minPhotos: found.minPhotos,
      });
    },
    // Naming one: the chat's /name, with its rules (a linked person is theirs and the admins'; a
    // look-alike of a name is refused) and its audit entry. The face the page showed for the
    // cluster comes with it: a clustering since may have given its number to other faces.
    'POST /api/name': async ({ req, res, session, actor }) => {
      const body = await readJson(
        req,
        z.object({
          cluster: z.number().int().min(1).max(100_000),
          hash: z.string().regex(HASH),
          face: z.number().int().min(0).max(999),
          name: z.string().max(1000),
        }),
        MAX_BODY_BYTES,
      );
      if (!body) return json(res, 400, { error: 'expected { cluster, hash, face, name }' });
      const result = await library.nameCluster(session.group, body.cluster, body.name, actor, { photoHash: body.hash, faceIndex: body.face });
      if (result.kind === 'named') return json(res, 200, { person: result.person, newPerson: result.newPerson, filed: result.filed });
      const refused = refusal(result);
      if (refused) json(res, refused.status, { error: refused.error });
    },
    // "Is this Anna?": faces whose best match is her, a little below the threshold.
    'GET /api/suggestions': async ({ res, url, session, canSee }) => {
      const person = url.searchParams.get('person') ?? '';
      if (!PERSON_ID.test(person)) return json(res, 400, { error: 'person= a person id' });
      const found = await library.suggestions(session.group, person, canSee);
      json(res, 200, { suggestions: found.map((s) => ({ hash: s.photoHash, face: s.faceIndex, similarity: Number(s.similarity.toFixed(3)) })) });
    },
    // A face of a photo as someone's sample ("yes" to a suggestion, or a face named on an opened
    // photo): the chat's /enroll by reply, with its rules (a linked person, a face that looks
    // like someone else, a look-alike name) and its audit entry.
    'POST /api/enroll': async ({ req, res, session, canSee, actor }) => {
      const body = await readJson(
        req,
        z.object({ hash: z.string().regex(HASH), face: z.number().int().min(0).max(999), name: z.string().max(1000) }),
        MAX_BODY_BYTES,
      );
      if (!body) return json(res, 400, { error: 'expected { hash, face, name }' });
      if (!(await library.browsePhoto(session.group, body.hash, canSee))) return json(res, 404, { error: 'no such photo' });
      const result = await library.enroll(session.group, {
        name: body.name,
        photo: { hash: body.hash },
        face: { index: body.face },
        by: actor.userId,
        byName: actor.name,
        byAdmin: actor.admin,
      });
      const refused = refusal(result);
      if (refused) return json(res, refused.status, { error: refused.error });
      if (result.kind !== 'enrolled') return;
      json(res, 200, { person: result.person, newPerson: result.newPerson, refiled: result.refiled });
    },
    // "No" to a suggestion: that photo is never filed under them, nor offered again.
    'POST /api/dismiss': async ({ req, res, session, canSee, actor }) => {
      const body = await readJson(req, z.object({ hash: z.string().regex(HASH), person: z.string().regex(PERSON_ID) }), MAX_BODY_BYTES);
      if (!body) return json(res, 400, { error: 'expected { hash, person }' });
      const person = (await library.people(session.group, canSee)).find((p) => p.id === body.person);
      if (!person || !(await library.browsePhoto(session.group, body.hash, canSee))) return json(res, 404, { error: 'no such person or photo' });
      const result = await library.dismissSuggestion(session.group, person.name, body.hash, actor);
      if (result.kind === 'not-allowed')
        return json(res, 403, { error: `${result.person.name} is linked to a member: only they or an admin can say who is not them` });
      if (result.kind !== 'dismissed') return json(res, 404, { error: 'no such person or photo' });
      json(res, 200, { dismissed: result.person });
    },
    'GET /api/thumb': async (asked) => preview(asked, 'thumb'),
    'GET /api/large': async (asked) => preview(asked, 'large'),
    'GET /api/original': async ({ res, url, session, canSee }) => {
      const hash = url.searchParams.get('hash') ?? '';
      if (!HASH.test(hash)) return json(res, 400, { error: 'hash= a photo hash' });
      const original = await library.browseOriginal(session.group, hash, canSee);
      if (!original) return json(res, 404, { error: 'no such photo' });
      send(res, 200, CONTENT_TYPES[`.${original.ext}`] ?? 'application/octet-stream', original.bytes, {
        'content-disposition': `attachment; filename="${hash.slice(0, 12)}.${original.ext}"`,
      });
    },
  };

  /**
   * A thumbnail (centred on `person`'s face, or on the face at index `face`, when given) or a
   * large view; made once, then cached by the browser too.
   */
  async function preview({ req, res, url, session, canSee }: Member, kind: 'thumb' | 'large'): Promise<void> {
    const hash = url.searchParams.get('hash') ?? '';
    const person = url.searchParams.get('person');
    const face = url.searchParams.get('face');
    if (!HASH.test(hash) || (person !== null && !PERSON_ID.test(person)) || (face !== null && !FACE_INDEX.test(face)))
      return json(res, 400, { error: 'hash= a photo hash, person= a person id, face= a face number' });
    const key =
      kind === 'large' || (person === null && face === null)
        ? kind
        : person !== null
          ? `${kind}-${createHash('sha256').update(person).digest('hex').slice(0, 16)}`
          : `${kind}-face-${face}`;
    const centreOf = (faces: readonly PreviewFace[]) =>
      person !== null ? faces.find((f) => f.personId === person) : face !== null ? faces[Number(face)] : undefined;
    const etag = `"${hash.slice(0, 32)}-${key}"`;
    const bytes = await library.browsePreview(session.group, hash, key, (original, faces) => previews.render(original, kind, centreOf(faces)?.box), canSee);
    if (!bytes) return json(res, 404, { error: 'no such photo' });
    // Checked after the read: a 304 is only for a photo this member may still see.
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, etag, 'cache-control': 'private, max-age=86400' });
      return void res.end();
    }
    send(res, 200, 'image/webp', bytes, { etag, 'cache-control': 'private, max-age=86400' });
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      log.error({ err: describeError(error), route: `${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}` }, 'gallery request failed');
      if (!res.headersSent) json(res, 500, { error: 'something went wrong: try again' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gallery.invalid');
    const route = `${req.method} ${url.pathname}`;
    if (req.method === 'GET' && !url.pathname.startsWith('/api/')) {
      const file = files.get(url.pathname === '/' ? '/index.html' : url.pathname);
      if (!file) return json(res, 404, { error: 'not found' });
      return send(res, 200, file.type, file.body);
    }
    const open = routes[route];
    if (open) return open({ req, res, url });
    const answer = memberRoutes[route];
    if (!answer) return json(res, 404, { error: 'not found' });
    const session = sessionOf(req);
    if (!session) return json(res, 401, { error: 'your session has ended: open the gallery again from the chat' });
    const member = await checkMember(session.group, session.user);
    if (!member) return json(res, 403, { error: 'only members of the group can see its gallery' });
    const admin = member.admin ?? false;
    const actor = { userId: memberId(parseGroupId(session.group)!.platform, session.user), name: session.name, admin };
    return answer({ req, res, url, session, canSee: member.canSee, admin, actor });
  }

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is in use' : `cannot be opened (${describeError(error)})`;
      reject(new StartupError(`the gallery's port ${options.host}:${options.port} ${why}; set GALLERY_PORT to a free one`, { cause: error }));
    };
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A phone keeps its connection open between requests; close() alone would wait for it.
        server.closeAllConnections();
      }),
  };
}

/** Why a naming or an enrolment from the gallery was refused, as the member should read it; undefined when it was not. */
function refusal(result: EnrollResult | NameClusterResult): { status: number; error: string } | undefined {
  switch (result.kind) {
    // A clustering since gave the cluster's number to other faces.
    case 'unknown-cluster':
      return { status: 409, error: 'these faces changed since the page was drawn: look again' };
    case 'invalid-name':
      return {
        status: 400,
        error:
          result.reason === 'empty'
            ? 'give a name'
            : result.reason === 'too-long'
              ? 'that name is too long'
              : 'that name has a character that shows nothing: type it without',
      };
    case 'not-allowed':
      return { status: 403, error: `${result.person.name} is linked to a member: only they or an admin can add faces to them` };
    case 'confusable-name':
      return {
        status: 409,
        error: `that name looks too much like ${result.person.name}: write it exactly as ${result.person.name} to mean them, or choose a clearly different name`,
      };
    case 'someone-else':
      return { status: 409, error: `that face looks like ${result.person.name}: only an admin or ${result.person.name} can add it to someone else` };
    case 'name-taken':
      return { status: 409, error: `${result.person.name} is enrolled already` };
    case 'already-a-sample':
      return { status: 409, error: `a face of this photo is one of ${result.person.name}'s samples already` };
    case 'no-usable-face':
    case 'no-such-face':
      return { status: 409, error: 'that face is too small or unclear to learn from' };
    case 'unknown-photo':
    case 'undecodable':
      return { status: 404, error: 'no such photo' };
    // A face given by its place in the photo is never asked to be chosen.
    case 'choose-face':
      return { status: 409, error: 'that face is not there any more: look again' };
    case 'enrolled':
    case 'named':
      return undefined;
  }
}

/** The photos a page asks for: one to ten person ids, and real days (2024-02-30 is not one), the last one included. */
function photoQuery(params: URLSearchParams): BrowseQuery | { error: string } {
  const people = (params.get('people') ?? '').split(',').filter(Boolean);
  if (people.length === 0 || people.length > 10 || !people.every((id) => PERSON_ID.test(id))) return { error: 'people= one to ten person ids' };
  const from = params.get('from');
  const to = params.get('to');
  const day = (value: string | null) => {
    const time = value === null ? 0 : Date.parse(`${value}T00:00:00Z`);
    return value === null || (DAY.test(value) && Number.isFinite(time) && new Date(time).toISOString().startsWith(value));
  };
  if (!day(from) || !day(to)) return { error: 'from= and to= are days: 2024-05-01' };
  return {
    people,
    ...(from ? { from: new Date(`${from}T00:00:00Z`).toISOString() } : {}),
    // The last day is included: the period ends at the start of the next.
    ...(to ? { to: new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString() } : {}),
  };
}

/** A period as a zip's name says it: "2024" for a whole year, else its first and last days. */
function periodOf(query: BrowseQuery): { from?: string; to?: string; label: string } {
  const first = query.from?.slice(0, 10);
  const last = query.to === undefined ? undefined : new Date(Date.parse(query.to) - 86_400_000).toISOString().slice(0, 10);
  const year = first?.slice(0, 4);
  const label = year !== undefined && first === `${year}-01-01` && last === `${year}-12-31` ? year : `${first ?? ''}..${last ?? ''}`;
  return { ...(query.from !== undefined ? { from: query.from } : {}), ...(query.to !== undefined ? { to: query.to } : {}), label };
}

function sessionFrom(payload: Record<string, unknown>): Session | undefined {
  const { g, u, n } = payload;
  if (typeof g !== 'string' || typeof u !== 'string' || typeof n !== 'string' || !parseGroupId(g)) return undefined;
  return { group: g, user: u, name: n };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', Buffer.from(JSON.stringify(body)));
}

function send(res: ServerResponse, status: number, type: string, body: Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': body.byteLength, ...headers });
  res.end(body);
}
